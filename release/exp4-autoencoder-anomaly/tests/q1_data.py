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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
