/* bgt-request.c: what downloaders and uploaders put in every request
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bgt-private.h"
#include "bgt-request.h"

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
  g_clear_pointer (&defaults->group, g_free);
  g_clear_pointer (&defaults->tag, g_free);
  g_clear_pointer (&defaults->headers, g_ptr_array_unref);
  g_clear_pointer (&defaults->username, g_free);
  if (defaults->password != NULL)
    memset (defaults->password, 0, strlen (defaults->password));
  g_clear_pointer (&defaults->password, g_free);
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
_bgt_request_defaults_set_credential (BgtRequestDefaults *defaults, const char *username,
                                      const char *password)
{
  g_free (defaults->username);
  if (defaults->password != NULL)
    memset (defaults->password, 0, strlen (defaults->password));
  g_free (defaults->password);
  defaults->username = g_strdup (username);
  defaults->password = g_strdup (password);
}

void
_bgt_request_defaults_add_options (BgtRequestDefaults *defaults, BgtClient *client,
                                   GVariantBuilder *options)
{
  _bgt_client_add_app_id (client, options);
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
    {
      GVariantBuilder credential;

      g_variant_builder_init (&credential, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&credential, "{sv}", "username",
                             g_variant_new_string (defaults->username));
      g_variant_builder_add (
          &credential, "{sv}", "password",
          g_variant_new_string (defaults->password != NULL ? defaults->password : ""));
      g_variant_builder_add (options, "{sv}", "server-credential",
                             g_variant_builder_end (&credential));
    }
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  BgtTransfer *transfer = _bgt_client_load_transfer_finish (BGT_CLIENT (source), result, &error);

  if (transfer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, transfer, g_object_unref);
}

static void
on_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *client = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;
  const char *path;

  reply = _bgt_client_call_finish (client, result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_get (reply, "(&o)", &path);
  _bgt_client_load_transfer_async (client, path, cancellable, on_loaded, g_steal_pointer (&task));
}

/* Creates the transfer, then returns it loaded with its properties */
void
_bgt_create_transfer (BgtClient *client, const char *method, const char *uri,
                      GVariantBuilder *options, GUnixFDList *fd_list, gpointer source_object,
                      gpointer source_tag, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (source_object, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, g_object_ref (client), g_object_unref);
  _bgt_client_call (client, method, g_variant_new ("(sa{sv})", uri, options), fd_list, cancellable,
                    on_created, g_steal_pointer (&task));
}
