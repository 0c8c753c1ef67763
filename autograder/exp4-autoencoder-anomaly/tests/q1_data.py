OK_FORMAT = True

test = {   'name': 'q1_data',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     arrays = {name: np.asarray(checks.get(ns, name)) for name in ('x_train', 'x_val', 'x_test', 'y_test')}\n"
                                               "...     out = {f'{name}_shape': list(array.shape) for name, array in arrays.items()}\n"
                                               "...     out.update({f'{name}_sample': array[::20] for name, array in arrays.items() if name != 'y_test'})\n"
                                               '...     return out\n'
                                               '>>> def judge(data):\n'
                                               "...     for name in ('x_train', 'x_val', 'x_test'):\n"
                                               "...         shape = tuple(data[f'{name}_shape'])\n"
                                               "...         assert len(shape) == 2 and shape[1] == 784, f'{name} should have rows of 784 values, has shape {shape}'\n"
                                               "...         sample = data[f'{name}_sample']\n"
                                               "...         assert sample.max() <= 1.0 and sample.min() >= 0.0, f'scale {name} to [0, 1]'\n"
                                               "...     assert data['x_test_shape'][0] == 10000 and tuple(data['y_test_shape']) == (10000,), 'x_test and y_test cover the whole MNIST test set'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     arrays = {name: np.asarray(checks.get(ns, name)) for name in ('x_train', 'x_val', 'x_test', 'y_test')}\n"
                                               "...     out = {f'{name}_shape': list(array.shape) for name, array in arrays.items()}\n"
                                               "...     out.update({f'{name}_sample': array[::20] for name, array in arrays.items() if name != 'y_test'})\n"
                                               "...     out.update({'x_train': np.asarray(checks.get(ns, 'x_train')), 'x_val': np.asarray(checks.get(ns, 'x_val')), 'y_test': "
                                               "np.asarray(checks.get(ns, 'y_test')), 'normal_digit': int(checks.get(ns, 'NORMAL_DIGIT'))})\n"
                                               '...     return out\n'
                                               '>>> def judge(data):\n'
                                               "...     for name in ('x_train', 'x_val', 'x_test'):\n"
                                               "...         shape = tuple(data[f'{name}_shape'])\n"
                                               "...         assert len(shape) == 2 and shape[1] == 784, f'{name} should have rows of 784 values, has shape {shape}'\n"
                                               "...         sample = data[f'{name}_sample']\n"
                                               "...         assert sample.max() <= 1.0 and sample.min() >= 0.0, f'scale {name} to [0, 1]'\n"
                                               "...     assert data['x_test_shape'][0] == 10000 and tuple(data['y_test_shape']) == (10000,), 'x_test and y_test cover the whole MNIST test set'\n"
                                               '...     digit = 0\n'
                                               "...     train_digits = checks.mnist_train_digits(data['x_train'])\n"
                                               "...     val_digits = checks.mnist_train_digits(data['x_val'])\n"
                                               '...     others = int((train_digits != digit).sum())\n'
                                               "...     assert others == 0, f'{others} of the {len(train_digits)} training images are not MNIST training images of the normal digit {digit}: train on "
                                               "normal data only'\n"
                                               "...     assert (val_digits == digit).all(), f'x_val must hold only training-set images of the normal digit {digit}'\n"
                                               "...     train_rows = {row.tobytes() for row in data['x_train']}\n"
                                               "...     assert not any((row.tobytes() in train_rows for row in data['x_val'])), 'x_val and x_train must not share images'\n"
                                               "...     assert len(data['x_train']) >= 4 * len(data['x_val']) > 0, 'keep about 90 % for training and 10 % for validation'\n"
                                               '...     _, y_digits = checks.mnist_test_inputs((None, 784))\n'
                                               '...     expected = (y_digits != digit).astype(int)\n'
                                               "...     assert (data['y_test'].astype(int) == expected).all(), 'y_test should be 1 exactly where the test digit is not the normal digit'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
