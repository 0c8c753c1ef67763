OK_FORMAT = True

test = {   'name': 'q2_model',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {name: checks.get(ns, name, keras.Model) for name in ('encoder', 'decoder', 'autoencoder')}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert tuple(data[\'autoencoder\'].output_shape) == (None, 784), f"the autoencoder\'s output shape is {data[\'autoencoder\'].output_shape}, '
                                               'expected (None, 784)"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {name: checks.get(ns, name, keras.Model) for name in ('encoder', 'decoder', 'autoencoder')}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert tuple(data[\'autoencoder\'].output_shape) == (None, 784), f"the autoencoder\'s output shape is {data[\'autoencoder\'].output_shape}, '
                                               'expected (None, 784)"\n'
                                               "...     encoder, decoder, autoencoder = (data['encoder'], data['decoder'], data['autoencoder'])\n"
                                               "...     assert tuple(encoder.input_shape) == (None, 784), f'the encoder takes {encoder.input_shape}, expected (None, 784)'\n"
                                               '...     latent = encoder.output_shape[-1]\n'
                                               "...     assert len(encoder.output_shape) == 2 and latent < 784, f'the latent vector must be smaller than the input, got {encoder.output_shape}'\n"
                                               "...     assert tuple(decoder.input_shape) == (None, latent), f'the decoder must take the latent vector ({latent} values), takes "
                                               "{decoder.input_shape}'\n"
                                               "...     assert tuple(decoder.output_shape) == (None, 784), f'the decoder must give back 784 values, gives {decoder.output_shape}'\n"
                                               '...     names = {layer.name for layer in autoencoder.layers}\n'
                                               "...     assert encoder.name in names and decoder.name in names, 'compose the autoencoder from `encoder` and `decoder` themselves'\n"
                                               '...     config = autoencoder.get_compile_config() or {}\n'
                                               "...     assert config.get('optimizer'), 'compile the autoencoder with an optimizer'\n"
                                               "...     loss = str(config.get('loss')).lower().replace('_', '')\n"
                                               '...     assert any((k in loss for k in (\'mse\', \'meansquared\', \'mae\', \'meanabsolute\', \'binarycrossentropy\'))), f"use a reconstruction loss '
                                               'such as mean squared error, found {config.get(\'loss\')}"\n'
                                               "...     assert config.get('metrics'), 'compile with at least one metric'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
