OK_FORMAT = True

test = {   'name': 'q1_backbone',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import torch\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     cnn = checks.get(ns, 'load_backbone')()\n"
                                               '...     with torch.no_grad():\n'
                                               '...         features = list(cnn.eval()(torch.zeros(2, 3, 64, 64)).shape)\n'
                                               "...     return {'features': features}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'features\'] == [2, 1280], f"load_backbone() maps 2 images to {data[\'features\']}; remove the ImageNet classifier with '
                                               'reset_classifier(0) to get [2, 1280]"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import torch\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.data import load_pretrained_cnn\n'
                                               '>>> def extract(ns):\n'
                                               "...     cnn = checks.get(ns, 'load_backbone')()\n"
                                               '...     with torch.no_grad():\n'
                                               '...         features = list(cnn.eval()(torch.zeros(2, 3, 64, 64)).shape)\n'
                                               "...     return {'features': features, 'cnn': cnn}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'features\'] == [2, 1280], f"load_backbone() maps 2 images to {data[\'features\']}; remove the ImageNet classifier with '
                                               'reset_classifier(0) to get [2, 1280]"\n'
                                               "...     cnn = load_pretrained_cnn('efficientnet-lite0')\n"
                                               '...     cnn.reset_classifier(0)\n'
                                               '...     reference = cnn.state_dict()\n'
                                               "...     got = data['cnn'].state_dict()\n"
                                               '...     same = [k for k in reference if k in got and got[k].shape == reference[k].shape and torch.equal(got[k].float(), reference[k].float())]\n'
                                               '...     assert len(same) == len(reference), f"only {len(same)} of the {len(reference)} ImageNet tensors are in load_backbone()\'s network: load it '
                                               'with load_pretrained_cnn(\'efficientnet-lite0\')"\n'
                                               '...     with torch.no_grad():\n'
                                               "...         assert data['cnn'](torch.zeros(1, 3, 64, 64)).shape[-1] == 1280, 'the backbone must end with its pooled 1,280 features "
                                               "(reset_classifier(0))'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
