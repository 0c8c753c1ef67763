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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
