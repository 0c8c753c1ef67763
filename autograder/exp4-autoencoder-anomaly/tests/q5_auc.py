OK_FORMAT = True

test = {   'name': 'q5_auc',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'auc': float(checks.get(ns, 'auc'))}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 0.0 <= data['auc'] <= 1.0, 'auc should be an area under the ROC curve, between 0 and 1'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold as grading_threshold\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'autoencoder': checks.get(ns, 'autoencoder', keras.Model), 'normal_digit': int(checks.get(ns, 'NORMAL_DIGIT')), 'auc': "
                                               "float(checks.get(ns, 'auc')), 'x_val': np.asarray(checks.get(ns, 'x_val'), dtype='float32')}\n"
                                               '>>> def judge(data):\n'
                                               '...     digit = 0\n'
                                               "...     assert 0.0 <= data['auc'] <= 1.0, 'auc should be an area under the ROC curve, between 0 and 1'\n"
                                               '...     x, digits = checks.mnist_test_inputs((None, 784))\n'
                                               "...     errors = checks.reconstruction_errors(data['autoencoder'], x)\n"
                                               '...     auc = checks.roc_auc((digits != digit).astype(int), errors)\n'
                                               '...     x_kept, digits_kept = checks.mnist_held_out_inputs((None, 784))\n'
                                               "...     auc_kept = checks.roc_auc((digits_kept != digit).astype(int), checks.reconstruction_errors(data['autoencoder'], x_kept))\n"
                                               "...     checks.assert_not_fitted_to_test(auc, auc_kept, grading_threshold('exp4-autoencoder-anomaly', 'held_out_gap'), 'ROC-AUC')\n"
                                               "...     least = grading_threshold('exp4-autoencoder-anomaly', 'roc_auc')\n"
                                               "...     assert auc >= least, f'ROC-AUC measured by the grader: {auc:.4f}; it must reach {least}'\n"
                                               '...     anomalous = digits != digit\n'
                                               '...     ratio = float(errors[anomalous].mean() / errors[~anomalous].mean())\n'
                                               "...     least_ratio = grading_threshold('exp4-autoencoder-anomaly', 'error_ratio')\n"
                                               "...     assert ratio >= least_ratio, f'anomalies are reconstructed only {ratio:.2f}x worse than normal digits; train longer to reach {least_ratio}x'\n"
                                               "...     figures = checks.threshold_figures(checks.reconstruction_errors(data['autoencoder'], data['x_val']), errors, digits, digit, 3)\n"
                                               "...     return {**figures, 'ROC-AUC (grader)': auc, 'ROC-AUC on held-out digits (grader)': auc_kept, 'error ratio anomaly/normal': ratio}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 4}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
