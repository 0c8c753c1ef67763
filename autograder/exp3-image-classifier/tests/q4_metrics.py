OK_FORMAT = True

test = {   'name': 'q4_metrics',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     report = checks.get(ns, 'report', dict)\n"
                                               "...     missing = [k for k in ('y_pred', 'accuracy', 'precision', 'recall', 'f1', 'confusion') if k not in report]\n"
                                               "...     assert not missing, f'`report` lacks {missing}'\n"
                                               "...     return {'metrics': [float(report[k]) for k in ('accuracy', 'precision', 'recall', 'f1')], 'confusion': np.asarray(report['confusion']), "
                                               "'tested': len(checks.get(ns, 'y_test'))}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert all((0.0 <= m <= 1.0 for m in data[\'metrics\'])), f"accuracy, precision, recall and F1 lie in [0, 1], got {data[\'metrics\']}"\n'
                                               "...     confusion = data['confusion']\n"
                                               "...     assert confusion.ndim == 2 and confusion.shape[0] == confusion.shape[1], f'the confusion matrix should be square, has shape "
                                               "{confusion.shape}'\n"
                                               '...     assert int(confusion.sum()) == data[\'tested\'], f"the confusion matrix counts {int(confusion.sum())} images; it should count every test image '
                                               '({data[\'tested\']})"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import contextlib\n'
                                               '>>> import io\n'
                                               '>>> import keras\n'
                                               '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support\n'
                                               '>>> def small_case():\n'
                                               '...     y_true = np.array([0] * 10 + [1] * 6 + [2] * 4)\n'
                                               '...     y_pred = np.array([0] * 8 + [1, 2] + [1] * 3 + [0] * 2 + [2] + [2] * 3 + [1])\n'
                                               "...     x = np.zeros((len(y_true), 4, 4, 1), dtype='float32')\n"
                                               '...     x[np.arange(len(y_true)), 0, y_pred, 0] = 1.0\n'
                                               '...     return (x, y_true, y_pred)\n'
                                               '>>> def reading_model():\n'
                                               "...     model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation='softmax')])\n"
                                               "...     kernel = np.zeros((16, 3), dtype='float32')\n"
                                               '...     kernel[np.arange(3), np.arange(3)] = 10.0\n'
                                               "...     model.layers[-1].set_weights([kernel, np.zeros(3, dtype='float32')])\n"
                                               '...     return model\n'
                                               '>>> def reported(report):\n'
                                               "...     return {'y_pred': np.asarray(report['y_pred']).astype(int), 'confusion': np.asarray(report['confusion']), 'metrics': [float(report[k]) for k "
                                               "in ('accuracy', 'precision', 'recall', 'f1')]}\n"
                                               '>>> def extract(ns):\n'
                                               "...     stage = checks.get(ns, 'estimate_performance')\n"
                                               '...     x, y_true, _ = small_case()\n'
                                               '...     with contextlib.redirect_stdout(io.StringIO()):\n'
                                               '...         small = reported(stage(reading_model(), x, y_true))\n'
                                               "...     real = reported(checks.get(ns, 'report', dict))\n"
                                               "...     out = {f'small_{k}': v for k, v in small.items()}\n"
                                               "...     out.update({f'real_{k}': v for k, v in real.items()})\n"
                                               "...     out.update({'model': checks.get(ns, 'model', keras.Model), 'dataset': str(checks.get(ns, 'DATASET'))})\n"
                                               '...     return out\n'
                                               '>>> def agree(prefix, data, y_true, classes):\n'
                                               "...     y_pred = data[f'{prefix}_y_pred']\n"
                                               "...     precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, average='macro', zero_division=0)\n"
                                               '...     expected = [accuracy_score(y_true, y_pred), precision, recall, f1]\n'
                                               "...     for name, got, want in zip(('accuracy', 'precision', 'recall', 'F1'), data[f'{prefix}_metrics'], expected):\n"
                                               "...         assert abs(got - want) <= 1e-06, f'{name} is {got:.6f}, but scikit-learn gives {want:.6f} on your own predictions (macro average over "
                                               "classes)'\n"
                                               '...     confusion = confusion_matrix(y_true, y_pred, labels=np.arange(classes))\n'
                                               "...     assert data[f'{prefix}_confusion'].shape == confusion.shape and (data[f'{prefix}_confusion'] == confusion).all(), 'the confusion matrix does "
                                               "not match your predictions (rows = true class, columns = predicted class)'\n"
                                               '>>> def judge(data):\n'
                                               '...     x, y_true, y_pred = small_case()\n'
                                               "...     assert data['small_y_pred'].shape == y_pred.shape and (data['small_y_pred'] == y_pred).all(), 'y_pred should be the class with the highest "
                                               "predicted probability, for every image'\n"
                                               "...     agree('small', data, y_true, 3)\n"
                                               "...     x_test, y_test = checks.image_set_test_inputs(data['dataset'])\n"
                                               '...     assert data[\'real_y_pred\'].shape == y_test.shape, f"report[\'y_pred\'] has {data[\'real_y_pred\'].shape[0]} predictions; the test set has '
                                               '{len(y_test)} images"\n'
                                               "...     mine = checks.predict(data['model'], x_test).argmax(axis=1)\n"
                                               "...     same = float((mine == data['real_y_pred']).mean())\n"
                                               '...     assert same >= 0.999, f"report[\'y_pred\'] agrees with the grader\'s predictions of `model` on only {same:.1%} of the test images"\n'
                                               "...     agree('real', data, y_test, data['model'].output_shape[-1])\n"
                                               '...     return {"macro F1 (student\'s predictions)": data[\'real_metrics\'][3]}\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
