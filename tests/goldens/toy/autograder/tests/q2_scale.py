OK_FORMAT = True

test = {   'name': 'q2_scale',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'scaled': np.asarray(checks.get(ns, 'scale')(np.array([2.0, -4.0, 1.0])))}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert np.allclose(data['scaled'], [0.5, -1.0, 0.25]), 'divide by the largest absolute value'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
