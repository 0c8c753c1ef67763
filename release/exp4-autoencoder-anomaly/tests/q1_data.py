OK_FORMAT = True

test = {   'name': 'q1_data',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {name: np.asarray(checks.get(ns, name)) for name in ('x_train', 'x_val', 'x_test', 'y_test')}\n"
                                               '>>> def judge(data):\n'
                                               "...     for name in ('x_train', 'x_val', 'x_test'):\n"
                                               "...         assert data[name].ndim == 2 and data[name].shape[1] == 784, f'{name} should have rows of 784 values, has shape {data[name].shape}'\n"
                                               "...         assert data[name].max() <= 1.0 and data[name].min() >= 0.0, f'scale {name} to [0, 1]'\n"
                                               "...     assert data['x_test'].shape[0] == 10000 and data['y_test'].shape == (10000,), 'x_test and y_test cover the whole MNIST test set'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
