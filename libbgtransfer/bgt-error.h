/* bgt-error.h: the error domain of libbgtransfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include <glib.h>

#include "bgt-version.h"

G_BEGIN_DECLS

/**
 * BGT_ERROR:
 *
 * The error domain of libbgtransfer: every error from the service, and the
 * outcome of bgt_transfer_wait_async(), is in it.
 *
 * Since: 0.1
 */
#define BGT_ERROR (bgt_error_quark ())

/**
 * BgtError:
 * @BGT_ERROR_FAILED: another failure
 * @BGT_ERROR_INVALID_ARGUMENT: an argument or option was refused
 * @BGT_ERROR_NOT_FOUND: no such transfer or group
 * @BGT_ERROR_ACCESS_DENIED: the object belongs to another application
 * @BGT_ERROR_INVALID_STATE: not possible in the transfer's current state
 * @BGT_ERROR_QUOTA_EXCEEDED: too many transfers for this application
 * @BGT_ERROR_UNSUPPORTED_SCHEME: the URI's scheme is not supported
 * @BGT_ERROR_NOT_SUPPORTED: the service does not support this yet
 * @BGT_ERROR_SERVICE_UNAVAILABLE: the service could not be reached
 * @BGT_ERROR_TRANSFER_FAILED: the transfer ended in an error
 * @BGT_ERROR_TRANSFER_CANCELED: the transfer was canceled
 *
 * The errors of %BGT_ERROR: the service's D-Bus errors, and the library's
 * own.
 *
 * Since: 0.1
 */
typedef enum
{
  BGT_ERROR_FAILED,
  BGT_ERROR_INVALID_ARGUMENT,
  BGT_ERROR_NOT_FOUND,
  BGT_ERROR_ACCESS_DENIED,
  BGT_ERROR_INVALID_STATE,
  BGT_ERROR_QUOTA_EXCEEDED,
  BGT_ERROR_UNSUPPORTED_SCHEME,
  BGT_ERROR_NOT_SUPPORTED,
  BGT_ERROR_SERVICE_UNAVAILABLE,
  BGT_ERROR_TRANSFER_FAILED,
  BGT_ERROR_TRANSFER_CANCELED,
} BgtError;

BGT_AVAILABLE_IN_ALL
GQuark bgt_error_quark (void);

G_END_DECLS
