OK_FORMAT = True

test = {   'name': 'q3_pytorch',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> from torch import nn\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     layers = checks.dense_layers(checks.get(ns, 'torch_model', nn.Module))\n"
                                               "...     checks.check_mlp(layers, 'torch_model')\n"
                                               "...     return {'epochs': len(checks.get(ns, 'torch_seconds', list)), 'accuracy': float(checks.get(ns, 'torch_accuracy'))}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'epochs\'] == 2, f"train_pytorch trained {data[\'epochs\']} epoch(s); train for EPOCHS = 2"\n'
                                               "...     assert 0.0 <= data['accuracy'] <= 1.0, 'torch_accuracy should be an accuracy between 0 and 1'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> from torch import nn\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     layers = checks.dense_layers(checks.get(ns, 'torch_model', nn.Module))\n"
                                               "...     checks.check_mlp(layers, 'torch_model')\n"
                                               "...     data = checks.export_layers(layers, 'torch')\n"
                                               "...     data.update({'epochs': len(checks.get(ns, 'torch_seconds', list)), 'accuracy': float(checks.get(ns, 'torch_accuracy'))})\n"
                                               '...     return data\n'
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'epochs\'] == 2, f"train_pytorch trained {data[\'epochs\']} epoch(s); train for EPOCHS = 2"\n'
                                               "...     assert 0.0 <= data['accuracy'] <= 1.0, 'torch_accuracy should be an accuracy between 0 and 1'\n"
                                               "...     accuracy = checks.mlp_accuracy(checks.layers_from(data, 'torch'))\n"
                                               "...     least = threshold('exp1-frameworks', 'test_accuracy')\n"
                                               "...     assert accuracy >= least, f'PyTorch MLP: test accuracy measured by the grader {accuracy:.4f}; it must reach {least}'\n"
                                               "...     return {'PyTorch test accuracy (grader)': accuracy}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
