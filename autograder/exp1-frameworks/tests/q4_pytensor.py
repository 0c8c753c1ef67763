OK_FORMAT = True

test = {   'name': 'q4_pytensor',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     layers = checks.dense_layers(checks.get(ns, 'pt_params', list))\n"
                                               "...     checks.check_mlp(layers, 'pt_params')\n"
                                               "...     return {'epochs': len(checks.get(ns, 'pt_seconds', list)), 'accuracy': float(checks.get(ns, 'pt_accuracy'))}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'epochs\'] == 2, f"train_pytensor trained {data[\'epochs\']} epoch(s); train for EPOCHS = 2"\n'
                                               "...     assert 0.0 <= data['accuracy'] <= 1.0, 'pt_accuracy should be an accuracy between 0 and 1'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     layers = checks.dense_layers(checks.get(ns, 'pt_params', list))\n"
                                               "...     checks.check_mlp(layers, 'pt_params')\n"
                                               "...     data = checks.export_layers(layers, 'pt')\n"
                                               "...     data.update({'epochs': len(checks.get(ns, 'pt_seconds', list)), 'accuracy': float(checks.get(ns, 'pt_accuracy'))})\n"
                                               '...     return data\n'
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'epochs\'] == 2, f"train_pytensor trained {data[\'epochs\']} epoch(s); train for EPOCHS = 2"\n'
                                               "...     assert 0.0 <= data['accuracy'] <= 1.0, 'pt_accuracy should be an accuracy between 0 and 1'\n"
                                               "...     accuracy = checks.mlp_accuracy(checks.layers_from(data, 'pt'))\n"
                                               "...     least = threshold('exp1-frameworks', 'test_accuracy')\n"
                                               "...     assert accuracy >= least, f'PyTensor MLP: test accuracy measured by the grader {accuracy:.4f}; it must reach {least}'\n"
                                               "...     return {'PyTensor test accuracy (grader)': accuracy}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
