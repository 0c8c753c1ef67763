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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
