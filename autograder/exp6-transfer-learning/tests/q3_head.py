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
                                       'locked': False},
                                   {   'code': '>>> import torch\n'
                                               '>>> import dlkit.checks as checks\n'
                                               ">>> WEIGHTED = ('Linear', 'Conv2d')\n"
                                               ">>> ACTIVATIONS = ('ReLU', 'ReLU6', 'GELU', 'SiLU', 'Tanh', 'Sigmoid', 'LeakyReLU', 'ELU', 'Hardswish', 'Mish')\n"
                                               '>>> def describe(head):\n'
                                               "...     return [{'type': type(m).__name__, 'trainable': all((p.requires_grad for p in m.parameters())), 'out': getattr(m, 'out_features', None)} for m "
                                               'in head.modules() if not list(m.children())]\n'
                                               '>>> def extract(ns):\n'
                                               "...     model = checks.get(ns, 'model', torch.nn.Sequential)\n"
                                               "...     assert len(model) == 2, 'model should be nn.Sequential(backbone, head)'\n"
                                               '...     with torch.no_grad():\n'
                                               '...         outputs = list(model.eval()(torch.zeros(2, 3, 64, 64)).shape)\n'
                                               "...     return {'outputs': outputs, 'head': describe(model[1]), 'built': describe(checks.get(ns, 'build_head')(1280, 10))}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'outputs\'] == [2, 10], f"model maps 2 images to {data[\'outputs\']}; expected [2, 10] (one logit per digit)"\n'
                                               "...     for name, layers in (('model[1]', data['head']), ('build_head(1280, 10)', data['built'])):\n"
                                               "...         weighted = [i for i, layer in enumerate(layers) if layer['type'] in WEIGHTED]\n"
                                               "...         trainable = [i for i in weighted if layers[i]['trainable']]\n"
                                               "...         assert len(trainable) >= 2, f'{name} has {len(trainable)} trainable Linear layer(s); the head needs at least 2'\n"
                                               "...         assert any((layers[i]['type'] in ACTIVATIONS for i in range(weighted[0], weighted[-1]))), f'{name}: put a non-linearity (e.g. ReLU) "
                                               "between the Linear layers, or they collapse into one'\n"
                                               "...         assert layers[weighted[-1]]['out'] == 10, f'{name} must end with 10 outputs'\n"
                                               "...     return {'trainable head layers': len([x for x in data['head'] if x['type'] in WEIGHTED and x['trainable']])}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 3}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
