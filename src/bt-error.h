/* bt-error.h: the service's error domain, mapped to D-Bus error names
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BT_ERROR (bt_error_quark ())

/* Same codes and names as the public BgtError domain of libbgtransfer; the
 * service keeps its own copy so that it never includes the library. */
typedef enum
{
  BT_ERROR_FAILED,
  BT_ERROR_INVALID_ARGUMENT,
  BT_ERROR_NOT_FOUND,
  BT_ERROR_ACCESS_DENIED,
  BT_ERROR_INVALID_STATE,
  BT_ERROR_QUOTA_EXCEEDED,
  BT_ERROR_UNSUPPORTED_SCHEME,
  BT_ERROR_NOT_SUPPORTED,
} BtError;

GQuark bt_error_quark (void);

void bt_invocation_return_error (GDBusMethodInvocation *invocation, const GError *error);

G_END_DECLS
