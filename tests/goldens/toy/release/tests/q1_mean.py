OK_FORMAT = True

test = {   'name': 'q1_mean',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'centred': np.asarray(checks.get(ns, 'centred'))}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert data['centred'].shape == (10,), 'centred should have 10 values'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
