OK_FORMAT = True

test = {   'name': 'q5_accuracy',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'test_acc': float(checks.get(ns, 'test_acc'))}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 0.0 <= data['test_acc'] <= 1.0, 'test_acc should be an accuracy between 0 and 1'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
