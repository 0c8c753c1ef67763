OK_FORMAT = True

test = {   'name': 'q1_data',
    'points': 1,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     x_train = checks.get(ns, 'x_train', np.ndarray)\n"
                                               "...     x_test = checks.get(ns, 'x_test', np.ndarray)\n"
                                               "...     return {'train_shape': list(x_train.shape), 'test_shape': list(x_test.shape), 'dtype': str(x_train.dtype), 'sample': x_train[::60]}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert tuple(data[\'train_shape\']) == (55000, 784), f"x_train has shape {tuple(data[\'train_shape\'])}, expected (55000, 784)"\n'
                                               '...     assert tuple(data[\'test_shape\']) == (10000, 784), f"x_test has shape {tuple(data[\'test_shape\'])}, expected (10000, 784)"\n'
                                               '...     assert data[\'dtype\'] == \'float32\', f"scale the images to float32, not {data[\'dtype\']}"\n'
                                               "...     assert 0.0 <= data['sample'].min() and data['sample'].max() <= 1.0, 'pixel values must lie in [0, 1]'\n"
                                               "...     assert data['sample'].max() == 1.0, 'divide by 255, the largest pixel value'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
