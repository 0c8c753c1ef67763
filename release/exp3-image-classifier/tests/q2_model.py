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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
