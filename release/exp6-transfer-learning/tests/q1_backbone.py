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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
