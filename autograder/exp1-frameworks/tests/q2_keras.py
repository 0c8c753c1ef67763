OK_FORMAT = True

test = {   'name': 'q2_keras',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'keras_model', keras.Model), 'epochs': len(checks.get(ns, 'keras_seconds', list)), 'accuracy': "
                                               "float(checks.get(ns, 'keras_accuracy'))}\n"
                                               '>>> def judge(data):\n'
                                               "...     model = data['model']\n"
                                               "...     assert tuple(model.input_shape) == (None, 784), f'keras_model takes inputs of shape {model.input_shape}, expected (None, 784)'\n"
                                               "...     assert tuple(model.output_shape) == (None, 10), f'keras_model gives outputs of shape {model.output_shape}, expected (None, 10)'\n"
                                               '...     assert data[\'epochs\'] == 2, f"train_keras trained {data[\'epochs\']} epoch(s); train for EPOCHS = 2"\n'
                                               "...     assert 0.0 <= data['accuracy'] <= 1.0, 'keras_accuracy should be an accuracy between 0 and 1'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'keras_model', keras.Model), 'epochs': len(checks.get(ns, 'keras_seconds', list)), 'accuracy': "
                                               "float(checks.get(ns, 'keras_accuracy'))}\n"
                                               '>>> def judge(data):\n'
                                               "...     model = data['model']\n"
                                               "...     assert tuple(model.input_shape) == (None, 784), f'keras_model takes inputs of shape {model.input_shape}, expected (None, 784)'\n"
                                               "...     assert tuple(model.output_shape) == (None, 10), f'keras_model gives outputs of shape {model.output_shape}, expected (None, 10)'\n"
                                               '...     assert data[\'epochs\'] == 2, f"train_keras trained {data[\'epochs\']} epoch(s); train for EPOCHS = 2"\n'
                                               "...     assert 0.0 <= data['accuracy'] <= 1.0, 'keras_accuracy should be an accuracy between 0 and 1'\n"
                                               "...     accuracy = checks.mnist_accuracy(data['model'])\n"
                                               "...     least = threshold('exp1-frameworks', 'test_accuracy')\n"
                                               "...     assert accuracy >= least, f'Keras model: test accuracy measured by the grader {accuracy:.4f}; it must reach {least}'\n"
                                               "...     return {'Keras test accuracy (grader)': accuracy}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
