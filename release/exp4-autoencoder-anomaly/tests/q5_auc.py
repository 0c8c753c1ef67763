OK_FORMAT = True

test = {   'name': 'q5_auc',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'auc': float(checks.get(ns, 'auc'))}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 0.0 <= data['auc'] <= 1.0, 'auc should be an area under the ROC curve, between 0 and 1'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
