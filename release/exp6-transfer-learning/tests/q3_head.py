OK_FORMAT = True

test = {   'name': 'q3_head',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import torch\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     model = checks.get(ns, 'model', torch.nn.Sequential)\n"
                                               "...     assert len(model) == 2, 'model should be nn.Sequential(backbone, head)'\n"
                                               '...     with torch.no_grad():\n'
                                               '...         outputs = list(model.eval()(torch.zeros(2, 3, 64, 64)).shape)\n'
                                               "...     return {'outputs': outputs}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'outputs\'] == [2, 10], f"model maps 2 images to {data[\'outputs\']}; expected [2, 10] (one logit per digit)"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
