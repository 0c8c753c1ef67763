OK_FORMAT = True

test = {   'name': 'q7_detector',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     predictor = checks.get(ns, 'detector').roi_heads.box_predictor\n"
                                               "...     return {'classes': int(predictor.cls_score.out_features)}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'classes\'] == 11, f"the box predictor scores {data[\'classes\']} classes; the task has 11 (background + 10 digits)"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
