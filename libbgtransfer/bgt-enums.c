/* bgt-enums.c: helpers for the enumerations of libbgtransfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bgtransfer.h"
#include "bgt-private.h"

/**
 * bgt_status_is_finished:
 * @status: a #BgtStatus
 *
 * Returns: whether @status is an end: completed, canceled or error
 *
 * Since: 0.1
 */
gboolean
bgt_status_is_finished (BgtStatus status)
{
  return status == BGT_STATUS_COMPLETED || status == BGT_STATUS_CANCELED
         || status == BGT_STATUS_ERROR;
}

/**
 * bgt_status_is_paused:
 * @status: a #BgtStatus
 *
 * Returns: whether @status is one of the paused-… statuses
 *
 * Since: 0.1
 */
gboolean
bgt_status_is_paused (BgtStatus status)
{
  return status >= BGT_STATUS_PAUSED_BY_APPLICATION
         && status <= BGT_STATUS_PAUSED_RECOVERABLE_ERROR;
}

static const char *
enum_nick (GType type, int value)
{
  g_autoptr (GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *v = g_enum_get_value (klass, value);

  /* Nicks are interned by the generated type: they outlive the class ref */
  return v != NULL ? v->value_nick : NULL;
}

static gboolean
enum_from_nick (GType type, const char *nick, int *out)
{
  g_autoptr (GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *v = nick != NULL ? g_enum_get_value_by_nick (klass, nick) : NULL;

  if (v == NULL)
    return FALSE;
  *out = v->value;
  return TRUE;
}

/**
 * bgt_status_to_string:
 * @status: a #BgtStatus
 *
 * Returns: the string of @status on the bus, such as "paused-by-application"
 *
 * Since: 0.1
 */
const char *
bgt_status_to_string (BgtStatus status)
{
  return enum_nick (BGT_TYPE_STATUS, status);
}

/**
 * bgt_error_status_to_string:
 * @error_status: a #BgtErrorStatus
 *
 * Returns: the string of @error_status on the bus, such as "not-found";
 *   the empty string for %BGT_ERROR_STATUS_NONE
 *
 * Since: 0.1
 */
const char *
bgt_error_status_to_string (BgtErrorStatus error_status)
{
  if (error_status == BGT_ERROR_STATUS_NONE)
    return "";
  return enum_nick (BGT_TYPE_ERROR_STATUS, error_status);
}

int
_bgt_enum_from_string (GType type, const char *str, int fallback)
{
  int value;

  if (str == NULL || *str == '\0' || !enum_from_nick (type, str, &value))
    return fallback;
  return value;
}

const char *
_bgt_enum_to_string (GType type, int value)
{
  return enum_nick (type, value);
}
