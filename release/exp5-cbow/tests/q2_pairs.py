OK_FORMAT = True

test = {   'name': 'q2_pairs',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     contexts, targets = checks.get(ns, 'context_target_pairs')([7, 8, 9, 6], 2)\n"
                                               "...     return {'contexts': np.asarray(contexts), 'targets': np.asarray(targets)}\n"
                                               '>>> def judge(data):\n'
                                               '...     expected = [[0, 0, 8, 9], [0, 7, 9, 6], [7, 8, 6, 0], [8, 9, 0, 0]]\n'
                                               '...     assert data[\'contexts\'].shape == (4, 4), f"for 4 words and window 2 the contexts should have shape (4, 4), not {data[\'contexts\'].shape}"\n'
                                               '...     assert data[\'contexts\'].tolist() == expected, f"context_target_pairs([7, 8, 9, 6], 2) gave contexts {data[\'contexts\'].tolist()}, expected '
                                               '{expected}"\n'
                                               '...     assert data[\'targets\'].tolist() == [7, 8, 9, 6], f"the targets should be [7, 8, 9, 6], not {data[\'targets\'].tolist()}"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
