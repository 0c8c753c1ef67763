OK_FORMAT = True

test = {   'name': 'q1_tensorflow',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     layers = checks.dense_layers(checks.get(ns, 'tf_params', list))\n"
                                               "...     checks.check_mlp(layers, 'tf_params')\n"
                                               "...     return {'epochs': len(checks.get(ns, 'tf_seconds', list)), 'accuracy': float(checks.get(ns, 'tf_accuracy'))}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'epochs\'] == 2, f"train_tensorflow trained {data[\'epochs\']} epoch(s); train for EPOCHS = 2"\n'
                                               "...     assert 0.0 <= data['accuracy'] <= 1.0, 'tf_accuracy should be an accuracy between 0 and 1'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
