OK_FORMAT = True

test = {   'name': 'q2_architecture',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'model', keras.Model)}\n"
                                               '>>> def judge(data):\n'
                                               "...     model = data['model']\n"
                                               "...     assert tuple(model.output_shape) == (None, 10), f'the output shape is {model.output_shape}, expected (None, 10)'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'model', keras.Model)}\n"
                                               '>>> def judge(data):\n'
                                               "...     model = data['model']\n"
                                               "...     assert tuple(model.output_shape) == (None, 10), f'the output shape is {model.output_shape}, expected (None, 10)'\n"
                                               "...     assert tuple(model.input_shape) == (None, 784), f'the input shape is {model.input_shape}, expected (None, 784)'\n"
                                               '...     dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]\n'
                                               "...     assert len(dense) >= 2, 'use at least one hidden Dense layer and a Dense output layer'\n"
                                               "...     activations = [layer.get_config()['activation'] for layer in dense]\n"
                                               "...     assert all((a == 'relu' for a in activations[:-1])), f'hidden layers should use ReLU, found {activations[:-1]}'\n"
                                               "...     assert activations[-1] == 'softmax', f'the output layer should use softmax, found {activations[-1]}'\n"
                                               "...     assert dense[-1].units == 10, 'the output layer needs 10 units, one per digit'\n"
                                               '...     asked = list((256, 128, 64))\n'
                                               '...     units = [layer.units for layer in dense[:-1]]\n'
                                               "...     assert units == asked, f'the hidden Dense layers have {units} units; this notebook asks for {asked}, in that order'\n"
                                               "...     return {'first layer parameters (grader)': dense[0].count_params(), 'first layer units': dense[0].units}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
