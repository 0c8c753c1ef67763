OK_FORMAT = True

test = {   'name': 'q5_accuracy',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.data import IMAGE_SETS\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'dataset': checks.get(ns, 'DATASET'), 'accuracy': float(checks.get(ns, 'report', dict)['accuracy'])}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'dataset\'] in IMAGE_SETS, f"DATASET should be one of {IMAGE_SETS}, is {data[\'dataset\']!r}"\n'
                                               '...     assert 0.0 <= data[\'accuracy\'] <= 1.0, "report[\'accuracy\'] should lie in [0, 1]"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.data import IMAGE_SETS\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'model', keras.Model), 'dataset': str(checks.get(ns, 'DATASET'))}\n"
                                               '>>> def judge(data):\n'
                                               "...     dataset = data['dataset']\n"
                                               "...     assert dataset in IMAGE_SETS, f'DATASET should be one of {IMAGE_SETS}, is {dataset!r}'\n"
                                               "...     accuracy = checks.image_set_accuracy(data['model'], dataset)\n"
                                               "...     least = threshold('exp3-image-classifier', f'test_accuracy_{dataset}')\n"
                                               "...     assert accuracy >= least, f'{dataset} test accuracy measured by the grader: {accuracy:.4f}; it must reach {least}'\n"
                                               "...     return {f'test accuracy on {dataset} (grader)': accuracy}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 4}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
