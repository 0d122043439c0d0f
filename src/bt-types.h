/* bt-types.h: the enumerations of the interface and their bus strings
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  BT_KIND_DOWNLOAD,
  BT_KIND_UPLOAD,
} BtKind;

typedef enum
{
  BT_STATUS_IDLE,
  BT_STATUS_RUNNING,
  BT_STATUS_PAUSED_BY_APPLICATION,
  BT_STATUS_PAUSED_COSTED_NETWORK,
  BT_STATUS_PAUSED_NO_NETWORK,
  BT_STATUS_PAUSED_SYSTEM_POLICY,
  BT_STATUS_PAUSED_RECOVERABLE_ERROR,
  BT_STATUS_COMPLETED,
  BT_STATUS_CANCELED,
  BT_STATUS_ERROR,
} BtStatus;

typedef enum
{
  BT_ERROR_STATUS_NONE,
  BT_ERROR_STATUS_HOST_NAME_NOT_RESOLVED,
  BT_ERROR_STATUS_CANNOT_CONNECT,
  BT_ERROR_STATUS_TIMEOUT,
  BT_ERROR_STATUS_CONNECTION_RESET,
  BT_ERROR_STATUS_CERTIFICATE_INVALID,
  BT_ERROR_STATUS_UNAUTHORIZED,
  BT_ERROR_STATUS_PROXY_AUTHENTICATION_REQUIRED,
  BT_ERROR_STATUS_FORBIDDEN,
  BT_ERROR_STATUS_NOT_FOUND,
  BT_ERROR_STATUS_GONE,
  BT_ERROR_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE,
  BT_ERROR_STATUS_SERVER_ERROR,
  BT_ERROR_STATUS_SERVICE_UNAVAILABLE,
  BT_ERROR_STATUS_TOO_MANY_REDIRECTS,
  BT_ERROR_STATUS_INSECURE_REDIRECT,
  BT_ERROR_STATUS_RESOURCE_CHANGED,
  BT_ERROR_STATUS_CHECKSUM_MISMATCH,
  BT_ERROR_STATUS_DISK_FULL,
  BT_ERROR_STATUS_DESTINATION_UNWRITABLE,
  BT_ERROR_STATUS_PROTOCOL_ERROR,
  BT_ERROR_STATUS_UNKNOWN,
} BtErrorStatus;

typedef enum
{
  BT_PRIORITY_LOW,
  BT_PRIORITY_DEFAULT,
  BT_PRIORITY_HIGH,
} BtPriority;

typedef enum
{
  BT_COST_POLICY_UNRESTRICTED_ONLY,
  BT_COST_POLICY_DEFAULT,
  BT_COST_POLICY_ALWAYS,
} BtCostPolicy;

const char *bt_kind_to_string (BtKind kind);
const char *bt_status_to_string (BtStatus status);
const char *bt_error_status_to_string (BtErrorStatus error_status);
const char *bt_priority_to_string (BtPriority priority);
const char *bt_cost_policy_to_string (BtCostPolicy policy);

gboolean bt_kind_from_string (const char *str, BtKind *out);
gboolean bt_status_from_string (const char *str, BtStatus *out);
BtErrorStatus bt_error_status_from_string (const char *str);
gboolean bt_priority_from_string (const char *str, BtPriority *out);
gboolean bt_cost_policy_from_string (const char *str, BtCostPolicy *out);

gboolean bt_status_is_finished (BtStatus status);

G_END_DECLS
