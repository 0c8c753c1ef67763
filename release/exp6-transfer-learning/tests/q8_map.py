OK_FORMAT = True

test = {   'name': 'q8_map',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'map50': float(checks.get(ns, 'map50')), 'loss': [float(v) for v in checks.get(ns, 'history_det', dict).get('loss', [])]}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 0.0 <= data['map50'] <= 1.0, 'map50 should be a mean average precision, between 0 and 1'\n"
                                               '...     assert data[\'loss\'], "record each epoch\'s mean loss in history_det[\'loss\']"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
