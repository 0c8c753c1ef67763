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
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.data import IMAGE_SETS\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'model', keras.Model), 'dataset': str(checks.get(ns, 'DATASET')), 'accuracy': float(checks.get(ns, 'report', "
                                               "dict)['accuracy'])}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'dataset\'] in IMAGE_SETS, f"DATASET should be one of {IMAGE_SETS}, is {data[\'dataset\']!r}"\n'
                                               '...     assert 0.0 <= data[\'accuracy\'] <= 1.0, "report[\'accuracy\'] should lie in [0, 1]"\n'
                                               "...     dataset = data['dataset']\n"
                                               "...     accuracy, loss = checks.image_set_scores(data['model'], dataset)\n"
                                               "...     held_out, held_out_loss = checks.image_set_scores(data['model'], dataset, held_out=True)\n"
                                               "...     checks.assert_not_fitted_to_test(accuracy, held_out, threshold('exp3-image-classifier', 'held_out_gap'))\n"
                                               "...     most = threshold('exp3-image-classifier', 'held_out_loss_ratio')\n"
                                               '...     assert held_out_loss <= most * loss, f"your model\'s mean cross-entropy is {loss:.4f} on the test set but {held_out_loss:.4f} on the training '
                                               'images the notebook keeps back ({held_out_loss / loss:.2f} times; a model that never saw the test set stays within {most} times): the model has learnt '
                                               'the test set. Train on the training data only"\n'
                                               "...     least = threshold('exp3-image-classifier', f'test_accuracy_{dataset}')\n"
                                               "...     assert accuracy >= least, f'{dataset} test accuracy measured by the grader: {accuracy:.4f}; it must reach {least}'\n"
                                               "...     return {f'test accuracy on {dataset} (grader)': accuracy, f'held-out accuracy on {dataset} (grader)': held_out}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 4}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
