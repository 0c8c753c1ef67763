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
                                       'locked': False},
                                   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'centred': np.asarray(checks.get(ns, 'centred'))}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert data['centred'].shape == (10,), 'centred should have 10 values'\n"
                                               "...     assert abs(float(data['centred'].mean())) < 1e-12, 'subtract the secret mean of the toy data'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
