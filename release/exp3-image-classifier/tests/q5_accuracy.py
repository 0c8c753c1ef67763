OK_FORMAT = True

test = {   'name': 'q5_accuracy',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.data import IMAGE_SETS\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'dataset': str(checks.get(ns, 'DATASET')), 'accuracy': float(checks.get(ns, 'report', dict)['accuracy'])}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'dataset\'] in IMAGE_SETS, f"DATASET should be one of {IMAGE_SETS}, is {data[\'dataset\']!r}"\n'
                                               '...     assert 0.0 <= data[\'accuracy\'] <= 1.0, "report[\'accuracy\'] should lie in [0, 1]"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
