OK_FORMAT = True

test = {   'name': 'q5_same_mlp',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> import keras\n'
                                               '>>> from torch import nn\n'
                                               '>>> import dlkit.checks as checks\n'
                                               ">>> MODELS = {'TensorFlow': ('tf_params', list), 'Keras': ('keras_model', keras.Model), 'PyTorch': ('torch_model', nn.Module), 'PyTensor': "
                                               "('pt_params', list)}\n"
                                               '>>> def extract(ns):\n'
                                               '...     return {framework: [list(w.shape) for w, _ in checks.dense_layers(checks.get(ns, name, kind))] for framework, (name, kind) in MODELS.items()}\n'
                                               '>>> def judge(data):\n'
                                               '...     for framework, shapes in data.items():\n'
                                               "...         assert len(shapes) >= 2, f'{framework}: found {len(shapes)} dense layer(s); build the MLP in Q1-Q4 first'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> from torch import nn\n'
                                               '>>> import dlkit.checks as checks\n'
                                               ">>> MODELS = {'TensorFlow': ('tf_params', list), 'Keras': ('keras_model', keras.Model), 'PyTorch': ('torch_model', nn.Module), 'PyTensor': "
                                               "('pt_params', list)}\n"
                                               '>>> def extract(ns):\n'
                                               '...     return {framework: [list(w.shape) for w, _ in checks.dense_layers(checks.get(ns, name, kind))] for framework, (name, kind) in MODELS.items()}\n'
                                               '>>> def judge(data):\n'
                                               '...     for framework, shapes in data.items():\n'
                                               "...         assert len(shapes) >= 2, f'{framework}: found {len(shapes)} dense layer(s); build the MLP in Q1-Q4 first'\n"
                                               '...     counts = {framework: sum((w * o + o for w, o in shapes)) for framework, shapes in data.items()}\n'
                                               '...     shapes = {framework: [tuple(s) for s in layers] for framework, layers in data.items()}\n'
                                               "...     reference = shapes['TensorFlow']\n"
                                               "...     different = [f'{framework} {layers}' for framework, layers in shapes.items() if layers != reference]\n"
                                               "...     assert not different, f'the models differ: TensorFlow has layers {reference} but ' + '; '.join(different) + f' (parameters: {counts}); build "
                                               "all four from SIZES'\n"
                                               "...     return {'parameters per model': counts['TensorFlow']}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
