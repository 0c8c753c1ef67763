OK_FORMAT = True

test = {   'name': 'q1_data',
    'points': 1,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'x_train': checks.get(ns, 'x_train', np.ndarray), 'x_test': checks.get(ns, 'x_test', np.ndarray)}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'x_train\'].shape == (60000, 784), f"x_train has shape {data[\'x_train\'].shape}, expected (60000, 784)"\n'
                                               '...     assert data[\'x_test\'].shape == (10000, 784), f"x_test has shape {data[\'x_test\'].shape}, expected (10000, 784)"\n'
                                               "...     assert data['x_train'].dtype == np.float32, 'scale the images to float32'\n"
                                               "...     assert 0.0 <= data['x_train'].min() and data['x_train'].max() <= 1.0, 'pixel values must lie in [0, 1]'\n"
                                               "...     assert data['x_train'].max() == 1.0, 'divide by 255, the largest pixel value'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
