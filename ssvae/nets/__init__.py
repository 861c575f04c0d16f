"""Shared network blocks (MLP / conv encoders and decoders, classifiers, VGG16, likelihoods)."""
from ssvae.nets.blocks import (BernoulliLikelihood, Decoder, Encoder, GaussianLikelihood,
                               PerExampleGaussianLikelihood, check_image_shape, gaussian_kl,
                               make_classifier, make_encoder, make_likelihood, per_pixel_mse,
                               reparameterize, resolve_likelihood, split_gaussian)
from ssvae.nets.vgg16 import VGG16Classifier, VGG16WeightsMissing, default_weights_path

__all__ = ["BernoulliLikelihood", "Decoder", "Encoder", "GaussianLikelihood",
           "PerExampleGaussianLikelihood", "VGG16Classifier",
           "VGG16WeightsMissing", "check_image_shape", "default_weights_path", "gaussian_kl",
           "make_classifier", "make_encoder", "make_likelihood", "per_pixel_mse", "reparameterize",
           "resolve_likelihood", "split_gaussian"]
