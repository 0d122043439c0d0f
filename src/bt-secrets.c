/* bt-secrets.c: credentials and secret headers, kept in the Secret Service
 *
 * Passwords and the values of Authorization, Proxy-Authorization and
 * Cookie headers never reach the state store or a log: they live in
 * memory while the service runs and in the Secret Service (libsecret,
 * asynchronous calls only) for after a restart, under our own schema,
 * keyed by transfer id, and are cleared when the transfer is removed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <libsecret/secret.h>

#include "bt-secrets.h"

static const SecretSchema bt_secret_schema = {
  "org.freedesktop.BackgroundTransfer.Transfer",
  SECRET_SCHEMA_DONT_MATCH_NAME,
  {
      { "transfer", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "NULL", 0 },
  },
};

struct _BtSecrets
{
  char *server_username;
  char *server_password;
  char *proxy_username;
  char *proxy_password;
  GPtrArray *headers; /* alternating name, value */
};

BtSecrets *
bt_secrets_new (void)
{
  BtSecrets *secrets = g_new0 (BtSecrets, 1);

  secrets->headers = g_ptr_array_new_with_free_func (g_free);
  return secrets;
}

static void
free_secret (char **str)
{
  if (*str != NULL)
    {
      /* do not leave a password behind in freed memory */
      memset (*str, 0, strlen (*str));
      g_clear_pointer (str, g_free);
    }
}

void
bt_secrets_free (BtSecrets *secrets)
{
  if (secrets == NULL)
    return;
  g_free (secrets->server_username);
  free_secret (&secrets->server_password);
  g_free (secrets->proxy_username);
  free_secret (&secrets->proxy_password);
  for (guint i = 1; i < secrets->headers->len; i += 2)
    free_secret ((char **) &g_ptr_array_index (secrets->headers, i));
  g_ptr_array_unref (secrets->headers);
  g_free (secrets);
}

gboolean
bt_secrets_is_empty (BtSecrets *secrets)
{
  return secrets->server_password == NULL && secrets->proxy_password == NULL
         && secrets->server_username == NULL && secrets->proxy_username == NULL
         && secrets->headers->len == 0;
}

GVariant *
bt_secrets_serialize (BtSecrets *secrets)
{
  GVariantBuilder b, headers;

  g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i + 1 < secrets->headers->len; i += 2)
    g_variant_builder_add (&headers, "(ss)", (const char *) g_ptr_array_index (secrets->headers, i),
                           (const char *) g_ptr_array_index (secrets->headers, i + 1));
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "headers", g_variant_builder_end (&headers));
  if (secrets->server_username != NULL)
    g_variant_builder_add (&b, "{sv}", "server-username",
                           g_variant_new_string (secrets->server_username));
  if (secrets->server_password != NULL)
    g_variant_builder_add (&b, "{sv}", "server-password",
                           g_variant_new_string (secrets->server_password));
  if (secrets->proxy_username != NULL)
    g_variant_builder_add (&b, "{sv}", "proxy-username",
                           g_variant_new_string (secrets->proxy_username));
  if (secrets->proxy_password != NULL)
    g_variant_builder_add (&b, "{sv}", "proxy-password",
                           g_variant_new_string (secrets->proxy_password));
  return g_variant_builder_end (&b);
}

BtSecrets *
bt_secrets_deserialize (GVariant *value)
{
  BtSecrets *secrets = bt_secrets_new ();
  g_autoptr (GVariant) headers = NULL;
  GVariantIter iter;
  const char *name, *v;

  g_variant_lookup (value, "server-username", "s", &secrets->server_username);
  g_variant_lookup (value, "server-password", "s", &secrets->server_password);
  g_variant_lookup (value, "proxy-username", "s", &secrets->proxy_username);
  g_variant_lookup (value, "proxy-password", "s", &secrets->proxy_password);
  headers = g_variant_lookup_value (value, "headers", G_VARIANT_TYPE ("a(ss)"));
  if (headers != NULL)
    {
      g_variant_iter_init (&iter, headers);
      while (g_variant_iter_next (&iter, "(&s&s)", &name, &v))
        {
          g_ptr_array_add (secrets->headers, g_strdup (name));
          g_ptr_array_add (secrets->headers, g_strdup (v));
        }
    }
  return secrets;
}

static void
on_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *id = user_data;
  g_autoptr (GError) error = NULL;

  if (!secret_password_store_finish (result, &error))
    g_warning ("Cannot keep the credentials of transfer %s in the Secret Service (%s); they "
               "will not survive a restart of the service",
               id, error->message);
}

/* The attributes naming a transfer's item; libsecret may keep the table
 * past the call, so it owns its strings */
static GHashTable *
transfer_attributes (const char *transfer_id)
{
  GHashTable *attributes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  g_hash_table_insert (attributes, "transfer", g_strdup (transfer_id));
  return attributes;
}

void
bt_secrets_store (const char *transfer_id, BtSecrets *secrets)
{
  g_autoptr (GHashTable) attributes = transfer_attributes (transfer_id);
  g_autoptr (GVariant) value = g_variant_ref_sink (bt_secrets_serialize (secrets));
  g_autofree char *text = g_variant_print (value, FALSE);
  g_autofree char *label = g_strdup_printf ("Background transfer %s", transfer_id);

  secret_password_storev (&bt_secret_schema, attributes, SECRET_COLLECTION_DEFAULT, label, text,
                          NULL, on_stored, g_strdup (transfer_id));
  memset (text, 0, strlen (text));
}

/* The lookup searches, loading the secrets, rather than calling
 * secret_password_lookup(): libsecret 0.20.5's lookup leaks the body of
 * the GetSecrets reply (about 1 KB per lookup, one per transfer with
 * credentials that starts again after a restart: found by valgrind over
 * the security suite, reproduced with libsecret alone); searching with
 * SECRET_SEARCH_LOAD_SECRETS gets the same secret through calls that
 * free their replies. */
static void
on_searched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) value = NULL;
  g_autolist (GObject) items = NULL;
  g_autoptr (SecretValue) secret = NULL;
  const char *text = NULL;

  items = secret_password_search_finish (result, &error);
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (items != NULL && SECRET_IS_ITEM (items->data))
    secret = secret_item_get_secret (SECRET_ITEM (items->data));
  if (secret != NULL)
    text = secret_value_get_text (secret);
  if (text == NULL)
    {
      g_task_return_pointer (task, NULL, NULL); /* nothing stored */
      return;
    }
  value = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, &error);
  if (value == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, bt_secrets_deserialize (value), (GDestroyNotify) bt_secrets_free);
}

void
bt_secrets_lookup_async (const char *transfer_id, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (GHashTable) attributes = transfer_attributes (transfer_id);

  g_task_set_source_tag (task, bt_secrets_lookup_async);
  secret_password_searchv (&bt_secret_schema, attributes,
                           SECRET_SEARCH_LOAD_SECRETS | SECRET_SEARCH_UNLOCK, cancellable,
                           on_searched, g_steal_pointer (&task));
}

/*
 * bt_secrets_lookup_finish:
 *
 * Returns: (transfer full) (nullable): the secrets, or %NULL if none were
 * stored or on error
 */
BtSecrets *
bt_secrets_lookup_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_cleared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!secret_password_clear_finish (result, &error) && error != NULL)
    g_debug ("Cannot clear stored credentials: %s", error->message);
}

void
bt_secrets_clear (const char *transfer_id)
{
  g_autoptr (GHashTable) attributes = transfer_attributes (transfer_id);

  secret_password_clearv (&bt_secret_schema, attributes, NULL, on_cleared, NULL);
}

/*
 * bt_secrets_get_credential:
 * @proxy: the proxy's credential rather than the server's
 *
 * Returns: whether there is one
 */
gboolean
bt_secrets_get_credential (BtSecrets *secrets, gboolean proxy, const char **out_username,
                           const char **out_password)
{
  const char *username = proxy ? secrets->proxy_username : secrets->server_username;

  if (username == NULL)
    return FALSE;
  if (out_username != NULL)
    *out_username = username;
  if (out_password != NULL)
    *out_password = proxy ? secrets->proxy_password : secrets->server_password;
  return TRUE;
}

static void
replace_secret (char **slot, const char *value)
{
  if (*slot != NULL)
    memset (*slot, 0, strlen (*slot));
  g_free (*slot);
  *slot = g_strdup (value);
}

void
bt_secrets_set_credential (BtSecrets *secrets, gboolean proxy, const char *username,
                           const char *password)
{
  replace_secret (proxy ? &secrets->proxy_username : &secrets->server_username, username);
  replace_secret (proxy ? &secrets->proxy_password : &secrets->server_password, password);
}

/* (transfer none): the secret headers, alternating names and values */
GPtrArray *
bt_secrets_get_headers (BtSecrets *secrets)
{
  return secrets->headers;
}
