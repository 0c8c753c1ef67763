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
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'model', keras.Model), 'test_acc': float(checks.get(ns, 'test_acc'))}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 0.0 <= data['test_acc'] <= 1.0, 'test_acc should be an accuracy between 0 and 1'\n"
                                               "...     accuracy = checks.mnist_accuracy(data['model'])\n"
                                               "...     held_out = checks.mnist_accuracy(data['model'], held_out=True)\n"
                                               "...     checks.assert_not_fitted_to_test(accuracy, held_out, threshold('exp2-feedforward', 'held_out_gap'))\n"
                                               "...     least = threshold('exp2-feedforward', 'test_accuracy')\n"
                                               "...     assert accuracy >= least, f'test accuracy measured by the grader: {accuracy:.4f}; it must reach {least}'\n"
                                               "...     return {**checks.confusion_largest(data['model']), 'test accuracy (grader)': accuracy, 'held-out accuracy (grader)': held_out}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 4}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
