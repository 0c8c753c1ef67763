OK_FORMAT = True

test = {   'name': 'q6_accuracy',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import torch\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'test_accuracy': float(checks.get(ns, 'test_accuracy')), 'img_size': int(checks.get(ns, 'IMG_SIZE')), 'model': checks.get(ns, 'model', "
                                               'torch.nn.Module)}\n'
                                               '>>> def judge(data):\n'
                                               "...     assert 0.0 <= data['test_accuracy'] <= 1.0, 'test_accuracy should be a fraction between 0 and 1'\n"
                                               "...     assert data['img_size'] == 64, 'keep IMG_SIZE = 64: the grader feeds your model 64x64 images'\n"
                                               "...     acc = checks.torch_mnist_accuracy(data['model'], 2000)\n"
                                               '...     assert abs(data[\'test_accuracy\'] - acc) <= 0.002, f"test_accuracy is {data[\'test_accuracy\']:.4f}, but your model classifies {acc:.4f} of '
                                               '(x_test, y_test) correctly (measured by the grader): compute it from the fine-tuned model"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import torch\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold as grading_threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'test_accuracy': float(checks.get(ns, 'test_accuracy')), 'img_size': int(checks.get(ns, 'IMG_SIZE')), 'model': checks.get(ns, 'model', "
                                               'torch.nn.Module)}\n'
                                               '>>> def judge(data):\n'
                                               "...     assert 0.0 <= data['test_accuracy'] <= 1.0, 'test_accuracy should be a fraction between 0 and 1'\n"
                                               "...     assert data['img_size'] == 64, 'keep IMG_SIZE = 64: the grader feeds your model 64x64 images'\n"
                                               "...     acc = checks.torch_mnist_accuracy(data['model'], 2000)\n"
                                               '...     assert abs(data[\'test_accuracy\'] - acc) <= 0.002, f"test_accuracy is {data[\'test_accuracy\']:.4f}, but your model classifies {acc:.4f} of '
                                               '(x_test, y_test) correctly (measured by the grader): compute it from the fine-tuned model"\n'
                                               "...     held_out = checks.torch_mnist_accuracy(data['model'], 2000, held_out=True)\n"
                                               "...     checks.assert_not_fitted_to_test(acc, held_out, grading_threshold('exp6-transfer-learning', 'held_out_gap'))\n"
                                               "...     least = grading_threshold('exp6-transfer-learning', 'test_accuracy')\n"
                                               "...     assert acc >= least, f'test accuracy measured by the grader: {acc:.4f}; it must reach {least}'\n"
                                               "...     return {'test accuracy (grader)': acc, 'held-out accuracy (grader)': held_out}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 4}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
