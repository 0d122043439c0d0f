/* bgt-request.c: what downloaders and uploaders put in every request
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bgt-private.h"
#include "bgt-request.h"

static const char *const notify_keys[BGT_N_NOTIFY_TEXTS] = {
  "success-title",
  "success-body",
  "failure-title",
  "failure-body",
};

static void
wipe_free (char *secret)
{
  if (secret != NULL)
    memset (secret, 0, strlen (secret));
  g_free (secret);
}

void
_bgt_request_defaults_init (BgtRequestDefaults *defaults)
{
  memset (defaults, 0, sizeof *defaults);
  defaults->cost_policy = BGT_COST_POLICY_DEFAULT;
  defaults->priority = BGT_PRIORITY_DEFAULT;
  defaults->start = TRUE;
  defaults->headers = g_ptr_array_new_with_free_func (g_free);
}

void
_bgt_request_defaults_clear (BgtRequestDefaults *defaults)
{
  g_clear_object (&defaults->client);
  g_clear_pointer (&defaults->group, g_free);
  g_clear_pointer (&defaults->tag, g_free);
  g_clear_object (&defaults->completion_group);
  g_clear_pointer (&defaults->method, g_free);
  for (guint i = 0; i < BGT_N_NOTIFY_TEXTS; i++)
    g_clear_pointer (&defaults->notify_texts[i], g_free);
  g_clear_pointer (&defaults->headers, g_ptr_array_unref);
  g_clear_pointer (&defaults->username, g_free);
  g_clear_pointer (&defaults->password, wipe_free);
  g_clear_pointer (&defaults->proxy_username, g_free);
  g_clear_pointer (&defaults->proxy_password, wipe_free);
}

/* The documentation of each property is with each class: BgtDownloader
 * and BgtUploader */
void
_bgt_request_install_properties (GParamSpec **props)
{
  props[BGT_REQUEST_PROP_CLIENT]
      = g_param_spec_object ("client", NULL, NULL, BGT_TYPE_CLIENT,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[BGT_REQUEST_PROP_COST_POLICY] = g_param_spec_enum (
      "cost-policy", NULL, NULL, BGT_TYPE_COST_POLICY, BGT_COST_POLICY_DEFAULT, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_PRIORITY] = g_param_spec_enum ("priority", NULL, NULL, BGT_TYPE_PRIORITY,
                                                        BGT_PRIORITY_DEFAULT, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_GROUP] = g_param_spec_string ("group", NULL, NULL, NULL, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_TAG] = g_param_spec_string ("tag", NULL, NULL, NULL, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_START] = g_param_spec_boolean ("start", NULL, NULL, TRUE, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_COMPLETION_GROUP] = g_param_spec_object (
      "completion-group", NULL, NULL, BGT_TYPE_COMPLETION_GROUP, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_MAX_RATE]
      = g_param_spec_int64 ("max-rate", NULL, NULL, 0, G_MAXINT64, 0, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_METHOD] = g_param_spec_string ("method", NULL, NULL, NULL, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_SHOW_NOTIFICATIONS]
      = g_param_spec_boolean ("show-notifications", NULL, NULL, FALSE, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_NOTIFY_SUCCESS_TITLE]
      = g_param_spec_string ("notify-success-title", NULL, NULL, NULL, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_NOTIFY_SUCCESS_BODY]
      = g_param_spec_string ("notify-success-body", NULL, NULL, NULL, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_NOTIFY_FAILURE_TITLE]
      = g_param_spec_string ("notify-failure-title", NULL, NULL, NULL, BGT_REQUEST_RW);
  props[BGT_REQUEST_PROP_NOTIFY_FAILURE_BODY]
      = g_param_spec_string ("notify-failure-body", NULL, NULL, NULL, BGT_REQUEST_RW);
}

gboolean
_bgt_request_get_property (BgtRequestDefaults *defaults, guint prop_id, GValue *value)
{
  switch (prop_id)
    {
      case BGT_REQUEST_PROP_CLIENT:
        g_value_set_object (value, defaults->client);
        return TRUE;
      case BGT_REQUEST_PROP_COST_POLICY:
        g_value_set_enum (value, defaults->cost_policy);
        return TRUE;
      case BGT_REQUEST_PROP_PRIORITY:
        g_value_set_enum (value, defaults->priority);
        return TRUE;
      case BGT_REQUEST_PROP_GROUP:
        g_value_set_string (value, defaults->group);
        return TRUE;
      case BGT_REQUEST_PROP_TAG:
        g_value_set_string (value, defaults->tag);
        return TRUE;
      case BGT_REQUEST_PROP_START:
        g_value_set_boolean (value, defaults->start);
        return TRUE;
      case BGT_REQUEST_PROP_COMPLETION_GROUP:
        g_value_set_object (value, defaults->completion_group);
        return TRUE;
      case BGT_REQUEST_PROP_MAX_RATE:
        g_value_set_int64 (value, defaults->max_rate);
        return TRUE;
      case BGT_REQUEST_PROP_METHOD:
        g_value_set_string (value, defaults->method);
        return TRUE;
      case BGT_REQUEST_PROP_SHOW_NOTIFICATIONS:
        g_value_set_boolean (value, defaults->show_notifications);
        return TRUE;
      case BGT_REQUEST_PROP_NOTIFY_SUCCESS_TITLE:
      case BGT_REQUEST_PROP_NOTIFY_SUCCESS_BODY:
      case BGT_REQUEST_PROP_NOTIFY_FAILURE_TITLE:
      case BGT_REQUEST_PROP_NOTIFY_FAILURE_BODY:
        g_value_set_string (
            value, defaults->notify_texts[prop_id - BGT_REQUEST_PROP_NOTIFY_SUCCESS_TITLE]);
        return TRUE;
      default:
        return FALSE;
    }
}

gboolean
_bgt_request_set_property (GObject *owner, BgtRequestDefaults *defaults, GParamSpec **props,
                           guint prop_id, const GValue *value)
{
  GParamSpec *pspec = props[prop_id];

  switch (prop_id)
    {
      case BGT_REQUEST_PROP_CLIENT:
        defaults->client = g_value_dup_object (value);
        return TRUE;
      case BGT_REQUEST_PROP_COST_POLICY:
        _bgt_request_set_int (owner, pspec, (int *) &defaults->cost_policy,
                              g_value_get_enum (value));
        return TRUE;
      case BGT_REQUEST_PROP_PRIORITY:
        _bgt_request_set_int (owner, pspec, (int *) &defaults->priority, g_value_get_enum (value));
        return TRUE;
      case BGT_REQUEST_PROP_GROUP:
        _bgt_request_set_string (owner, pspec, &defaults->group, g_value_get_string (value));
        return TRUE;
      case BGT_REQUEST_PROP_TAG:
        _bgt_request_set_string (owner, pspec, &defaults->tag, g_value_get_string (value));
        return TRUE;
      case BGT_REQUEST_PROP_START:
        _bgt_request_set_int (owner, pspec, &defaults->start, g_value_get_boolean (value));
        return TRUE;
      case BGT_REQUEST_PROP_COMPLETION_GROUP:
        _bgt_request_set_object (owner, pspec, &defaults->completion_group,
                                 g_value_get_object (value));
        return TRUE;
      case BGT_REQUEST_PROP_MAX_RATE:
        _bgt_request_set_int64 (owner, pspec, &defaults->max_rate, g_value_get_int64 (value));
        return TRUE;
      case BGT_REQUEST_PROP_METHOD:
        _bgt_request_set_string (owner, pspec, &defaults->method, g_value_get_string (value));
        return TRUE;
      case BGT_REQUEST_PROP_SHOW_NOTIFICATIONS:
        _bgt_request_set_int (owner, pspec, &defaults->show_notifications,
                              g_value_get_boolean (value));
        return TRUE;
      case BGT_REQUEST_PROP_NOTIFY_SUCCESS_TITLE:
      case BGT_REQUEST_PROP_NOTIFY_SUCCESS_BODY:
      case BGT_REQUEST_PROP_NOTIFY_FAILURE_TITLE:
      case BGT_REQUEST_PROP_NOTIFY_FAILURE_BODY:
        _bgt_request_set_string (
            owner, pspec, &defaults->notify_texts[prop_id - BGT_REQUEST_PROP_NOTIFY_SUCCESS_TITLE],
            g_value_get_string (value));
        return TRUE;
      default:
        return FALSE;
    }
}

void
_bgt_request_set_string (GObject *owner, GParamSpec *pspec, char **field, const char *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (owner, pspec);
}

void
_bgt_request_set_int (GObject *owner, GParamSpec *pspec, int *field, int value)
{
  /* booleans as given may be any non-zero value */
  if (G_IS_PARAM_SPEC_BOOLEAN (pspec))
    value = !!value;
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (owner, pspec);
}

void
_bgt_request_set_int64 (GObject *owner, GParamSpec *pspec, gint64 *field, gint64 value)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (owner, pspec);
}

void
_bgt_request_set_strv (GObject *owner, GParamSpec *pspec, GStrv *field, const char *const *value)
{
  /* NULL and empty are the same: none */
  if (value != NULL && value[0] == NULL)
    value = NULL;
  if (*field == NULL && value == NULL)
    return;
  if (*field != NULL && value != NULL && g_strv_equal ((const char *const *) *field, value))
    return;
  g_strfreev (*field);
  *field = g_strdupv ((char **) value);
  g_object_notify_by_pspec (owner, pspec);
}

void
_bgt_request_set_object (GObject *owner, GParamSpec *pspec, gpointer field, gpointer value)
{
  if (g_set_object ((GObject **) field, value))
    g_object_notify_by_pspec (owner, pspec);
}

void
_bgt_request_set_notification_texts (GObject *owner, BgtRequestDefaults *defaults,
                                     GParamSpec **props, const char *success_title,
                                     const char *success_body, const char *failure_title,
                                     const char *failure_body)
{
  const char *texts[BGT_N_NOTIFY_TEXTS]
      = { success_title, success_body, failure_title, failure_body };

  g_object_freeze_notify (owner);
  for (guint i = 0; i < BGT_N_NOTIFY_TEXTS; i++)
    _bgt_request_set_string (owner, props[BGT_REQUEST_PROP_NOTIFY_SUCCESS_TITLE + i],
                             &defaults->notify_texts[i], texts[i]);
  g_object_thaw_notify (owner);
}

void
_bgt_request_defaults_set_header (BgtRequestDefaults *defaults, const char *name, const char *value)
{
  for (guint i = 0; i + 1 < defaults->headers->len; i += 2)
    {
      if (g_ascii_strcasecmp (g_ptr_array_index (defaults->headers, i), name) == 0)
        {
          g_ptr_array_remove_range (defaults->headers, i, 2);
          break;
        }
    }
  if (value != NULL)
    {
      g_ptr_array_add (defaults->headers, g_strdup (name));
      g_ptr_array_add (defaults->headers, g_strdup (value));
    }
}

void
_bgt_request_defaults_set_credential (BgtRequestDefaults *defaults, gboolean proxy,
                                      const char *username, const char *password)
{
  char **user = proxy ? &defaults->proxy_username : &defaults->username;
  char **pass = proxy ? &defaults->proxy_password : &defaults->password;

  g_free (*user);
  wipe_free (*pass);
  *user = g_strdup (username);
  *pass = g_strdup (password);
}

static GVariant *
credential_new (const char *username, const char *password)
{
  GVariantBuilder credential;

  g_variant_builder_init (&credential, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&credential, "{sv}", "username", g_variant_new_string (username));
  g_variant_builder_add (&credential, "{sv}", "password",
                         g_variant_new_string (password != NULL ? password : ""));
  return g_variant_builder_end (&credential);
}

/* The options both kinds of transfer take */
void
_bgt_request_defaults_add_options (BgtRequestDefaults *defaults, GVariantBuilder *options)
{
  _bgt_client_add_app_id (defaults->client, options);
  if (defaults->cost_policy != BGT_COST_POLICY_DEFAULT)
    g_variant_builder_add (
        options, "{sv}", "cost-policy",
        g_variant_new_string (_bgt_enum_to_string (BGT_TYPE_COST_POLICY, defaults->cost_policy)));
  if (defaults->priority != BGT_PRIORITY_DEFAULT)
    g_variant_builder_add (
        options, "{sv}", "priority",
        g_variant_new_string (_bgt_enum_to_string (BGT_TYPE_PRIORITY, defaults->priority)));
  if (defaults->group != NULL)
    g_variant_builder_add (options, "{sv}", "group", g_variant_new_string (defaults->group));
  if (defaults->tag != NULL)
    g_variant_builder_add (options, "{sv}", "tag", g_variant_new_string (defaults->tag));
  if (!defaults->start)
    g_variant_builder_add (options, "{sv}", "start", g_variant_new_boolean (FALSE));
  if (defaults->completion_group != NULL)
    g_variant_builder_add (options, "{sv}", "completion-group",
                           g_variant_new_object_path (
                               bgt_completion_group_get_object_path (defaults->completion_group)));
  if (defaults->max_rate > 0)
    g_variant_builder_add (options, "{sv}", "max-rate",
                           g_variant_new_uint64 ((guint64) defaults->max_rate));
  if (defaults->method != NULL)
    g_variant_builder_add (options, "{sv}", "method", g_variant_new_string (defaults->method));
  if (defaults->headers->len > 0)
    {
      GVariantBuilder headers;

      g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
      for (guint i = 0; i + 1 < defaults->headers->len; i += 2)
        g_variant_builder_add (&headers, "(ss)",
                               (const char *) g_ptr_array_index (defaults->headers, i),
                               (const char *) g_ptr_array_index (defaults->headers, i + 1));
      g_variant_builder_add (options, "{sv}", "headers", g_variant_builder_end (&headers));
    }
  if (defaults->username != NULL)
    g_variant_builder_add (options, "{sv}", "server-credential",
                           credential_new (defaults->username, defaults->password));
  if (defaults->proxy_username != NULL)
    g_variant_builder_add (options, "{sv}", "proxy-credential",
                           credential_new (defaults->proxy_username, defaults->proxy_password));
  if (defaults->show_notifications)
    {
      GVariantBuilder notify;

      g_variant_builder_init (&notify, G_VARIANT_TYPE_VARDICT);
      for (guint i = 0; i < BGT_N_NOTIFY_TEXTS; i++)
        if (defaults->notify_texts[i] != NULL)
          g_variant_builder_add (&notify, "{sv}", notify_keys[i],
                                 g_variant_new_string (defaults->notify_texts[i]));
      g_variant_builder_add (options, "{sv}", "notify", g_variant_builder_end (&notify));
    }
}

/* ---- Creating ----------------------------------------------------------- */

typedef struct
{
  BgtClient *client;
  BgtCompletionGroup *completion_group; /* that the new transfer joins */
} CreateData;

static void
create_data_free (CreateData *data)
{
  g_clear_object (&data->client);
  g_clear_object (&data->completion_group);
  g_free (data);
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CreateData *data = g_task_get_task_data (task);
  GError *error = NULL;
  BgtTransfer *transfer = _bgt_client_load_transfer_finish (BGT_CLIENT (source), result, &error);

  if (transfer == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (data->completion_group != NULL)
    _bgt_completion_group_add_member (data->completion_group,
                                      bgt_transfer_get_object_path (transfer));
  g_task_return_pointer (task, transfer, g_object_unref);
}

static void
on_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CreateData *data = g_task_get_task_data (task);
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;
  const char *path;

  reply = _bgt_client_call_finish (data->client, result, NULL, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_get (reply, "(&o)", &path);
  /* Not cancellable any more: the transfer exists; the caller gets it */
  _bgt_client_load_transfer_async (data->client, path, NULL, on_loaded, g_steal_pointer (&task));
}

/* Creates the transfer, then returns it loaded with its properties */
void
_bgt_create_transfer (BgtRequestDefaults *defaults, const char *method, const char *uri,
                      GVariantBuilder *options, GUnixFDList *fd_list, gpointer source_object,
                      gpointer source_tag, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (source_object, cancellable, callback, user_data);
  CreateData *data = g_new0 (CreateData, 1);

  g_task_set_source_tag (task, source_tag);
  data->client = g_object_ref (defaults->client);
  if (defaults->completion_group != NULL)
    data->completion_group = g_object_ref (defaults->completion_group);
  g_task_set_task_data (task, data, (GDestroyNotify) create_data_free);
  _bgt_client_call (defaults->client, BGT_MANAGER_PATH, BGT_MANAGER_INTERFACE, method,
                    g_variant_new ("(sa{sv})", uri, options), G_VARIANT_TYPE ("(o)"), fd_list,
                    cancellable, on_created, g_steal_pointer (&task));
}

gpointer
_bgt_create_transfer_finish (gpointer source_object, GAsyncResult *result, gpointer source_tag,
                             GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, source_object), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
