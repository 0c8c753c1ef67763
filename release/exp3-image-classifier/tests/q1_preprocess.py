OK_FORMAT = True

test = {   'name': 'q1_preprocess',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     arrays = {name: np.asarray(checks.get(ns, name)) for name in ('x_train', 'y_train', 'x_val', 'y_val', 'x_test', 'y_test')}\n"
                                               "...     out = {f'{name}_shape': list(array.shape) for name, array in arrays.items()}\n"
                                               "...     out.update({f'{name}_sample': array[::97] for name, array in arrays.items() if name.startswith('x')})\n"
                                               "...     out['dtype'] = str(arrays['x_train'].dtype)\n"
                                               '...     return out\n'
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'dtype\'] == \'float32\', f"scale the images to float32, not {data[\'dtype\']}"\n'
                                               "...     for name in ('x_train', 'x_val', 'x_test'):\n"
                                               "...         shape = tuple(data[f'{name}_shape'])\n"
                                               "...         assert len(shape) == 4, f'{name} should be NHWC images (N, height, width, channels), has shape {shape}'\n"
                                               "...         sample = data[f'{name}_sample']\n"
                                               "...         assert sample.min() >= 0.0 and sample.max() <= 1.0, f'scale {name} to [0, 1]'\n"
                                               "...         label = 'y' + name[1:]\n"
                                               "...         assert data[f'{label}_shape'] == [shape[0]], f'{label} should hold one label per image of {name}'\n"
                                               "...     assert data['x_test_shape'][0] == 10000, 'keep the whole test set (10,000 images) in x_test'\n"
                                               "...     assert data['x_val_shape'][0] > 0, 'split off a validation set'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
