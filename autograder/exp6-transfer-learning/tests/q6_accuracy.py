OK_FORMAT = True

test = {   'name': 'q6_accuracy',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'test_accuracy': float(checks.get(ns, 'test_accuracy')), 'img_size': int(checks.get(ns, 'IMG_SIZE'))}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 0.0 <= data['test_accuracy'] <= 1.0, 'test_accuracy should be a fraction between 0 and 1'\n"
                                               "...     assert data['img_size'] == 64, 'keep IMG_SIZE = 64: the grader feeds your model 64x64 images'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import torch\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.data import load_mnist\n'
                                               '>>> from dlkit.data.detection import to_rgb_tensor\n'
                                               '>>> from dlkit.experiments import threshold as grading_threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'model', torch.nn.Module)}\n"
                                               '>>> def judge(data):\n'
                                               '...     _, (x_test, y_test) = load_mnist()\n'
                                               '...     x = to_rgb_tensor(x_test[:2000], 64)\n'
                                               "...     model = data['model'].eval()\n"
                                               '...     with torch.no_grad():\n'
                                               '...         predicted = torch.cat([model(x[i:i + 250]).argmax(dim=1) for i in range(0, len(x), 250)]).numpy()\n'
                                               '...     acc = float((predicted == y_test[:2000]).mean())\n'
                                               "...     least = grading_threshold('exp6-transfer-learning', 'test_accuracy')\n"
                                               "...     assert acc >= least, f'test accuracy measured by the grader: {acc:.4f}; it must reach {least}'\n"
                                               "...     return {'test accuracy (grader)': acc}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 4}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
