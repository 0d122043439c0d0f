/* bt-options.c: the options of CreateDownload and CreateUpload
 *
 * What an application passes is checked here before anything is created:
 * the known keys and their types, headers (no CR/LF, no hop-by-hop or
 * framing headers; secret ones set apart), credentials, mirrors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-error.h"
#include "bt-options.h"
#include "bt-validate.h"

typedef struct
{
  const char *key;
  const char *type;
  gboolean supported;
} OptionSpec;

static const OptionSpec download_options[] = {
  { "app-id", "s", TRUE },
  { "destination", "s", TRUE },
  { "destination-fd", "h", TRUE },
  { "overwrite", "b", TRUE },
  { "headers", "a(ss)", TRUE },
  { "method", "s", TRUE },
  { "cost-policy", "s", TRUE },
  { "priority", "s", TRUE },
  { "group", "s", TRUE },
  { "tag", "s", TRUE },
  { "start", "b", TRUE },
  { "if-changed", "s", TRUE },
  { "completion-group", "o", TRUE },
  { "server-credential", "a{sv}", TRUE },
  { "proxy-credential", "a{sv}", TRUE },
  { "checksum", "s", TRUE },
  { "mirrors", "as", TRUE },
  { "connections", "u", TRUE },
  { "random-access", "b", TRUE },
  { "max-rate", "t", TRUE },
  { "notify", "a{sv}", TRUE },
};

static const OptionSpec upload_options[] = {
  { "app-id", "s", TRUE },
  { "source", "s", TRUE },
  { "source-fd", "h", TRUE },
  { "parts", "aa{sv}", TRUE },
  { "method", "s", TRUE },
  { "protocol", "s", TRUE },
  { "response-destination", NULL, TRUE }, /* s or h */
  { "headers", "a(ss)", TRUE },
  { "cost-policy", "s", TRUE },
  { "priority", "s", TRUE },
  { "group", "s", TRUE },
  { "tag", "s", TRUE },
  { "start", "b", TRUE },
  { "server-credential", "a{sv}", TRUE },
  { "proxy-credential", "a{sv}", TRUE },
  { "completion-group", "o", TRUE },
  { "notify", "a{sv}", TRUE },
  { "max-rate", "t", TRUE },
};

/*
 * bt_options_check:
 *
 * Every key of @options must be an option of a @kind transfer, with the
 * type the interface gives it; unknown options are refused rather than
 * silently ignored, and so is an option given twice (which of the two
 * counts would be the reader's guess: the creation reads them into a
 * GVariantDict, where the last wins, g_variant_lookup() took the first).
 */
gboolean
bt_options_check (GVariant *options, BtKind kind, GError **error)
{
  const OptionSpec *specs = kind == BT_KIND_DOWNLOAD ? download_options : upload_options;
  gsize n_specs
      = kind == BT_KIND_DOWNLOAD ? G_N_ELEMENTS (download_options) : G_N_ELEMENTS (upload_options);
  guint64 seen = 0; /* bit i: specs[i] was given */
  GVariantIter iter;
  const char *key;
  GVariant *value;

  G_STATIC_ASSERT (G_N_ELEMENTS (download_options) <= 64 && G_N_ELEMENTS (upload_options) <= 64);
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      G_GNUC_UNUSED g_autoptr (GVariant) owned = value;
      const OptionSpec *spec = NULL;

      for (gsize i = 0; i < n_specs; i++)
        {
          if (g_str_equal (specs[i].key, key))
            {
              spec = &specs[i];
              break;
            }
        }
      if (spec == NULL)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Unknown option “%s”", key);
          return FALSE;
        }
      if (seen & (G_GUINT64_CONSTANT (1) << (spec - specs)))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Option “%s” is given twice",
                       key);
          return FALSE;
        }
      seen |= G_GUINT64_CONSTANT (1) << (spec - specs);
      if (spec->type != NULL && !g_variant_is_of_type (value, G_VARIANT_TYPE (spec->type)))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Option “%s” must be of type “%s”, not “%s”", key, spec->type,
                       g_variant_get_type_string (value));
          return FALSE;
        }
      if (!spec->supported)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_NOT_SUPPORTED,
                       "Option “%s” is not supported by this version of the service", key);
          return FALSE;
        }
    }
  return TRUE;
}

/*
 * bt_options_parse_headers:
 * @plain: where the headers go, as alternating names and values
 * @secret: where the secret ones go (Authorization, Cookie, …): they are
 *   write-only and never stored on disk
 */
gboolean
bt_options_parse_headers (GVariant *headers, GPtrArray *plain, GPtrArray *secret, GError **error)
{
  GVariantIter iter;
  const char *name, *value;

  if (g_variant_n_children (headers) > BT_MAX_HEADERS)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "More than %d headers",
                   BT_MAX_HEADERS);
      return FALSE;
    }
  g_variant_iter_init (&iter, headers);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
    {
      GPtrArray *target;

      if (!bt_validate_header (name, value, error))
        return FALSE;
      /* Write-only: secret header values go where passwords go */
      target = bt_header_is_secret (name) ? secret : plain;
      g_ptr_array_add (target, g_strdup (name));
      g_ptr_array_add (target, g_strdup (value));
    }
  return TRUE;
}

/*
 * bt_options_check_string_dict:
 * @keys: (array zero-terminated=1): the keys @dict may have
 *
 * An a{sv} option whose values are all strings, under known keys only.
 */
gboolean
bt_options_check_string_dict (GVariant *dict, const char *const *keys, const char *option,
                              GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      G_GNUC_UNUSED g_autoptr (GVariant) owned = value;

      if (!g_strv_contains (keys, key) || !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          g_autofree char *known = g_strjoinv (", ", (char **) keys);

          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Invalid key “%s” in option “%s”: it takes the strings %s", key, option,
                       known);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
bt_options_parse_credential (GVariant *credential, const char *option, char **out_username,
                             char **out_password, GError **error)
{
  static const char *const keys[] = { "username", "password", NULL };

  if (!bt_options_check_string_dict (credential, keys, option, error))
    return FALSE;
  if (!g_variant_lookup (credential, "username", "s", out_username)
      || !g_variant_lookup (credential, "password", "s", out_password))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "Option “%s” needs both “username” and “password”", option);
      return FALSE;
    }
  return TRUE;
}

#define BT_MAX_MIRRORS 16

/* Returns: (transfer full) (nullable): the mirrors' URIs, normalised */
GStrv
bt_options_parse_mirrors (GVariant *mirrors, GError **error)
{
  g_autoptr (GPtrArray) uris = g_ptr_array_new_with_free_func (g_free);
  GVariantIter iter;
  const char *uri;

  if (g_variant_n_children (mirrors) > BT_MAX_MIRRORS)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "More than %d mirrors",
                   BT_MAX_MIRRORS);
      return NULL;
    }
  g_variant_iter_init (&iter, mirrors);
  while (g_variant_iter_next (&iter, "&s", &uri))
    {
      g_autoptr (GUri) parsed = NULL;
      BtScheme scheme;

      parsed = bt_validate_uri (uri, &scheme, error);
      if (parsed == NULL)
        return NULL;
      g_ptr_array_add (uris, g_uri_to_string (parsed));
    }
  g_ptr_array_add (uris, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&uris), FALSE);
}
