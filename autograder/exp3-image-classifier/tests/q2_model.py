OK_FORMAT = True

test = {   'name': 'q2_model',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'model', keras.Model), 'classes': len(checks.get(ns, 'images').classes)}\n"
                                               '>>> def judge(data):\n'
                                               "...     model = data['model']\n"
                                               '...     assert tuple(model.output_shape) == (None, data[\'classes\']), f"the output shape is {model.output_shape}, expected (None, '
                                               '{data[\'classes\']}): one probability per class"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import contextlib\n'
                                               '>>> import io\n'
                                               '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def layers_of(model):\n'
                                               '...     for layer in model.layers:\n'
                                               '...         yield layer\n'
                                               "...         if hasattr(layer, 'layers'):\n"
                                               '...             yield from layers_of(layer)\n'
                                               '>>> def extract(ns):\n'
                                               "...     build = checks.get(ns, 'build_model')\n"
                                               '...     with contextlib.redirect_stdout(io.StringIO()):\n'
                                               '...         small = build((16, 16, 3), 4)\n'
                                               "...     return {'small': small, 'model': checks.get(ns, 'model', keras.Model), 'classes': len(checks.get(ns, 'images').classes)}\n"
                                               '>>> def judge(data):\n'
                                               "...     model = data['model']\n"
                                               '...     assert tuple(model.output_shape) == (None, data[\'classes\']), f"the output shape is {model.output_shape}, expected (None, '
                                               '{data[\'classes\']}): one probability per class"\n'
                                               "...     for name, model in (('build_model((16, 16, 3), 4)', data['small']), ('model', data['model'])):\n"
                                               '...         found = list(layers_of(model))\n'
                                               '...         convolutions = [layer for layer in found if isinstance(layer, keras.layers.Conv2D)]\n'
                                               "...         pooling = [layer for layer in found if 'Pooling' in type(layer).__name__]\n"
                                               "...         assert len(convolutions) >= 2, f'{name} has {len(convolutions)} Conv2D layer(s): a CNN needs at least two convolution layers'\n"
                                               "...         assert pooling, f'{name} has no pooling layer: end each convolution block with pooling (e.g. MaxPooling2D)'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2},
                                   {   'code': '>>> import contextlib\n'
                                               '>>> import io\n'
                                               '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def layers_of(model):\n'
                                               '...     for layer in model.layers:\n'
                                               '...         yield layer\n'
                                               "...         if hasattr(layer, 'layers'):\n"
                                               '...             yield from layers_of(layer)\n'
                                               '>>> def extract(ns):\n'
                                               "...     build = checks.get(ns, 'build_model')\n"
                                               "...     probe = keras.Sequential([keras.layers.RandomTranslation(0.1, 0.1, name='grader_augmentation')])\n"
                                               '...     with contextlib.redirect_stdout(io.StringIO()):\n'
                                               "...         return {'small': build((16, 16, 3), 4), 'grey': build((28, 28, 1), 10, augmentation=probe)}\n"
                                               '>>> def judge(data):\n'
                                               "...     for name, model, shape, classes in (('build_model((16, 16, 3), 4)', data['small'], (16, 16, 3), 4), ('build_model((28, 28, 1), 10, "
                                               "augmentation)', data['grey'], (28, 28, 1), 10)):\n"
                                               "...         assert tuple(model.input_shape) == (None, *shape), f'{name} takes {model.input_shape}, expected (None, {shape[0]}, {shape[1]}, "
                                               "{shape[2]})'\n"
                                               "...         assert tuple(model.output_shape) == (None, classes), f'{name} gives {model.output_shape}, expected (None, {classes})'\n"
                                               '...         found = list(layers_of(model))\n'
                                               '...         kinds = {type(layer).__name__ for layer in found}\n'
                                               "...         assert 'BatchNormalization' in kinds, f'{name} has no BatchNormalization layer'\n"
                                               "...         assert 'Dropout' in kinds, f'{name} has no Dropout layer'\n"
                                               '...         last = model.layers[-1]\n'
                                               "...         activation = last.get_config().get('activation') if isinstance(last, keras.layers.Dense) else type(last).__name__.lower()\n"
                                               "...         assert activation == 'softmax', f'{name} should end in a Dense layer with the softmax activation, ends in {type(last).__name__} "
                                               "({activation})'\n"
                                               '...     assert any((layer.name == \'grader_augmentation\' for layer in layers_of(data[\'grey\']))), "build_model must put the `augmentation` it is '
                                               'given at the model\'s input"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 1}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
