OK_FORMAT = True

test = {   'name': 'q8_map',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'map50': float(checks.get(ns, 'map50')), 'loss': [float(v) for v in checks.get(ns, 'history_det', dict).get('loss', [])], 'val_found': "
                                               "checks.detect_canvases(checks.get(ns, 'detector'), 200, seed=1, split='test', size=96)}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 0.0 <= data['map50'] <= 1.0, 'map50 should be a mean average precision, between 0 and 1'\n"
                                               '...     assert data[\'loss\'], "record each epoch\'s mean loss in history_det[\'loss\']"\n'
                                               "...     measured = checks.canvases_map50(data['val_found'], 200, seed=1, split='test', size=96)\n"
                                               '...     assert abs(data[\'map50\'] - measured) <= 0.01, f"map50 is {data[\'map50\']:.4f}, but your detector\'s mAP@0.5 on val_canvases is '
                                               '{measured:.4f} (recomputed by the grader from its boxes): compute map50 from the trained detector"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
