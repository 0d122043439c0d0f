/* bt-transfer.c: one transfer, its state, and its object on the bus
 *
 * The object is registered by hand (not with a generated skeleton) so that
 * every call and property read is checked against the owner, and so that
 * PropertiesChanged goes unicast to the owning app's connections only:
 * status changes at once, counters at most BT_NOTIFY_MIN_INTERVAL apart.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "bt-dbus.h"
#include "bt-download.h"
#include "bt-ftp.h"
#include "bt-upload.h"
#include "bt-error.h"
#include "bt-resume.h"
#include "bt-transfer.h"
#include "bt-validate.h"

/* 8 per second at most for counters: under the 10/s of SPEC §2.2 with room
 * for timer jitter */
#define BT_NOTIFY_MIN_INTERVAL_US (125 * G_TIME_SPAN_MILLISECOND)

G_DEFINE_TYPE (BtTransfer, bt_transfer, G_TYPE_OBJECT)

enum
{
  SIGNAL_STATE_CHANGED,
  SIGNAL_REMOVED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void flush_changes (BtTransfer *self);

static void
bt_transfer_dispose (GObject *object)
{
  BtTransfer *self = BT_TRANSFER (object);

  if (self->job != NULL)
    bt_job_stop (self->job);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  bt_transfer_unexport (self);

  G_OBJECT_CLASS (bt_transfer_parent_class)->dispose (object);
}

static void
bt_transfer_finalize (GObject *object)
{
  BtTransfer *self = BT_TRANSFER (object);

  g_free (self->id);
  g_free (self->object_path);
  g_free (self->app_id);
  g_free (self->uri);
  g_free (self->method);
  g_ptr_array_unref (self->headers);
  bt_secrets_free (self->secrets);
  g_free (self->group);
  g_free (self->tag);
  g_clear_pointer (&self->destination, bt_destination_free);
  g_clear_pointer (&self->source, bt_source_free);
  g_free (self->completion_group);
  g_clear_pointer (&self->rate_limiter, bt_rate_limiter_unref);
  g_clear_pointer (&self->notify, g_variant_unref);
  g_free (self->tus_url);
  g_clear_pointer (&self->checksum, bt_digest_free);
  g_clear_pointer (&self->server_digest, bt_digest_free);
  g_strfreev (self->mirrors);
  g_free (self->actual_uri);
  g_ptr_array_unref (self->response_headers);
  g_free (self->etag);
  g_free (self->last_modified);
  g_free (self->error_message);
  g_clear_object (&self->settings);
  g_clear_object (&self->store);
  g_clear_object (&self->policy);
  g_hash_table_unref (self->dirty);

  G_OBJECT_CLASS (bt_transfer_parent_class)->finalize (object);
}

static void
bt_transfer_class_init (BtTransferClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bt_transfer_dispose;
  object_class->finalize = bt_transfer_finalize;

  /* The status or the wish to run changed: the scheduler looks again */
  signals[SIGNAL_STATE_CHANGED]
      = g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 0);
  /* The owner called Remove() */
  signals[SIGNAL_REMOVED] = g_signal_new ("removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
bt_transfer_init (BtTransfer *self)
{
  self->headers = g_ptr_array_new_with_free_func (g_free);
  self->secrets = bt_secrets_new ();
  self->response_headers = g_ptr_array_new_with_free_func (g_free);
  self->dirty = g_hash_table_new (g_str_hash, g_str_equal);
  self->total_bytes = BT_SIZE_UNKNOWN;
  self->method = g_strdup ("GET");
  self->priority = BT_PRIORITY_DEFAULT;
  self->cost_policy = BT_COST_POLICY_DEFAULT;
  self->is_resumable = TRUE;
}

/* ---- Options ---------------------------------------------------------- */

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
  /* Delivered by later versions; refused rather than silently ignored */
  { "completion-group", "o", TRUE },
  { "server-credential", "a{sv}", TRUE },
  { "proxy-credential", "a{sv}", TRUE },
  { "checksum", "s", TRUE },
  { "mirrors", "as", TRUE },
  { "connections", "u", FALSE },
  { "max-rate", "t", TRUE },
  { "notify", "a{sv}", TRUE },
};

static gboolean
check_options (GVariant *options, const OptionSpec *specs, gsize n_specs, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) owned = value;
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

static gboolean
parse_headers (BtTransfer *self, GVariant *headers, GError **error)
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
      target = bt_header_is_secret (name) ? self->secrets->headers : self->headers;
      g_ptr_array_add (target, g_strdup (name));
      g_ptr_array_add (target, g_strdup (value));
    }
  return TRUE;
}

static gboolean
parse_credential (GVariant *credential, const char *option, char **out_username,
                  char **out_password, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, credential);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) owned = value;
      gboolean known = g_str_equal (key, "username") || g_str_equal (key, "password");

      if (!known || !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Option “%s” takes “username” and “password” strings only", option);
          return FALSE;
        }
    }
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

static gboolean
parse_mirrors (BtTransfer *self, GVariant *mirrors, GError **error)
{
  g_autoptr (GPtrArray) uris = g_ptr_array_new_with_free_func (g_free);
  GVariantIter iter;
  const char *uri;

  if (g_variant_n_children (mirrors) > BT_MAX_MIRRORS)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "More than %d mirrors",
                   BT_MAX_MIRRORS);
      return FALSE;
    }
  g_variant_iter_init (&iter, mirrors);
  while (g_variant_iter_next (&iter, "&s", &uri))
    {
      g_autoptr (GUri) parsed = NULL;
      BtScheme scheme;

      parsed = bt_validate_uri (uri, &scheme, error);
      if (parsed == NULL)
        return FALSE;
      g_ptr_array_add (uris, g_uri_to_string (parsed));
    }
  g_ptr_array_add (uris, NULL);
  self->mirrors = (GStrv) g_ptr_array_free (g_steal_pointer (&uris), FALSE);
  return TRUE;
}

/* The options downloads and uploads share */
static gboolean
parse_common (BtTransfer *self, GVariant *options, GError **error)
{
  g_autoptr (GVariant) headers = NULL;
  g_autoptr (GVariant) credential = NULL;
  g_autoptr (GVariant) notify = NULL;
  const char *str;
  guint64 max_rate = 0;
  gboolean start = TRUE;

  if (g_variant_lookup (options, "priority", "&s", &str)
      && !bt_priority_from_string (str, &self->priority))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Invalid priority “%s”", str);
      return FALSE;
    }
  if (g_variant_lookup (options, "cost-policy", "&s", &str)
      && !bt_cost_policy_from_string (str, &self->cost_policy))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Invalid cost policy “%s”", str);
      return FALSE;
    }
  if (g_variant_lookup (options, "group", "&s", &str))
    {
      if (strlen (str) > 255 || !g_utf8_validate (str, -1, NULL))
        {
          g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Invalid group name");
          return FALSE;
        }
      self->group = g_strdup (str);
    }
  if (g_variant_lookup (options, "tag", "&s", &str))
    {
      if (strlen (str) > 4096)
        {
          g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                               "The tag is longer than 4096 bytes");
          return FALSE;
        }
      self->tag = g_strdup (str);
    }
  headers = g_variant_lookup_value (options, "headers", G_VARIANT_TYPE ("a(ss)"));
  if (headers != NULL && !parse_headers (self, headers, error))
    return FALSE;
  credential = g_variant_lookup_value (options, "server-credential", G_VARIANT_TYPE_VARDICT);
  if (credential != NULL
      && !parse_credential (credential, "server-credential", &self->secrets->server_username,
                            &self->secrets->server_password, error))
    return FALSE;
  g_clear_pointer (&credential, g_variant_unref);
  credential = g_variant_lookup_value (options, "proxy-credential", G_VARIANT_TYPE_VARDICT);
  if (credential != NULL
      && !parse_credential (credential, "proxy-credential", &self->secrets->proxy_username,
                            &self->secrets->proxy_password, error))
    return FALSE;
  self->has_secrets = !bt_secrets_is_empty (self->secrets);
  g_variant_lookup (options, "start", "b", &start);
  self->queued = start;
  notify = g_variant_lookup_value (options, "notify", G_VARIANT_TYPE_VARDICT);
  if (notify != NULL)
    {
      static const char *const keys[]
          = { "success-title", "success-body", "failure-title", "failure-body" };
      GVariantIter iter;
      const char *key;
      GVariant *value;

      g_variant_iter_init (&iter, notify);
      while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
        {
          g_autoptr (GVariant) owned = value;

          if (!g_strv_contains (keys, key) || !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
            {
              g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "Invalid notify key “%s”: use success-title, success-body, "
                           "failure-title, failure-body (strings)",
                           key);
              return FALSE;
            }
        }
      self->notify = g_variant_ref_sink (g_steal_pointer (&notify));
    }
  if (g_variant_lookup (options, "max-rate", "t", &max_rate) && max_rate > 0)
    self->rate_limiter = bt_rate_limiter_new (max_rate);
  if (g_variant_lookup (options, "completion-group", "&o", &str))
    self->completion_group = g_strdup (str); /* checked and resolved by the manager */
  return TRUE;
}

static BtTransfer *
transfer_new (const char *id, const char *app_id, guint64 seq, BtKind kind, GUri *uri,
              gboolean sandboxed)
{
  BtTransfer *self = g_object_new (BT_TYPE_TRANSFER, NULL);

  self->sandboxed = sandboxed;
  self->id = g_strdup (id);
  self->object_path = g_strconcat (BT_TRANSFER_PATH_PREFIX, id, NULL);
  self->app_id = g_strdup (app_id);
  self->seq = seq;
  self->kind = kind;
  self->uri = g_uri_to_string (uri);
  self->created_time = g_get_real_time ();
  return self;
}

/* A file descriptor passed with the call, by its handle */
static int
get_passed_fd (GUnixFDList *fd_list, gint32 index, const char *option, GError **error)
{
  int fd = -1;

  if (fd_list != NULL && index >= 0 && index < g_unix_fd_list_get_length (fd_list))
    fd = g_unix_fd_list_get (fd_list, index, NULL);
  if (fd < 0)
    g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                 "The %s handle does not name a passed fd", option);
  return fd;
}

static BtDestination *
destination_for_fd (GUnixFDList *fd_list, gint32 index, const char *option, GError **error)
{
  BtDestination *destination;
  int fd = get_passed_fd (fd_list, index, option, error);

  if (fd < 0)
    return NULL;
  destination = bt_destination_new_for_fd (fd, error);
  close (fd);
  return destination;
}

static BtDestination *
destination_for_path (const char *path, gboolean overwrite, gboolean sandboxed, const char *option,
                      GError **error)
{
  if (sandboxed)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                   "A sandboxed application names files only by descriptor: use %s-fd", option);
      return NULL;
    }
  if (!bt_validate_destination_path (path, error))
    return NULL;
  return bt_destination_new_for_path (path, overwrite, error);
}

/*
 * bt_transfer_new_download:
 *
 * Checks every option, then creates the partial file: nothing is created
 * on disk for a call that is refused.
 */
BtTransfer *
bt_transfer_new_download (const char *id, const char *app_id, guint64 seq, const char *uri,
                          GVariant *options, GUnixFDList *fd_list, gboolean sandboxed,
                          GError **error)
{
  g_autoptr (BtTransfer) self = NULL;
  g_autoptr (GUri) parsed = NULL;
  g_autoptr (GVariant) mirrors = NULL;
  const char *destination = NULL;
  const char *str;
  gboolean overwrite = FALSE;
  gint32 fd_index = -1;
  BtScheme scheme;

  if (!check_options (options, download_options, G_N_ELEMENTS (download_options), error))
    return NULL;

  parsed = bt_validate_uri (uri, &scheme, error);
  if (parsed == NULL)
    return NULL;
  self = transfer_new (id, app_id, seq, BT_KIND_DOWNLOAD, parsed, sandboxed);
  if (!parse_common (self, options, error))
    return NULL;

  if (g_variant_lookup (options, "method", "&s", &str))
    {
      if (!g_str_equal (str, "GET") && !g_str_equal (str, "POST"))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Unsupported download method “%s”: use GET or POST", str);
          return NULL;
        }
      g_free (self->method);
      self->method = g_strdup (str);
    }
  if (g_variant_lookup (options, "if-changed", "&s", &str))
    {
      if (g_str_equal (str, "fail"))
        self->fail_if_changed = TRUE;
      else if (!g_str_equal (str, "restart"))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Invalid if-changed “%s”: use restart or fail", str);
          return NULL;
        }
    }
  if (g_variant_lookup (options, "checksum", "&s", &str))
    {
      self->checksum = bt_digest_parse_option (str, error);
      if (self->checksum == NULL)
        return NULL;
    }
  mirrors = g_variant_lookup_value (options, "mirrors", G_VARIANT_TYPE_STRING_ARRAY);
  if (mirrors != NULL && !parse_mirrors (self, mirrors, error))
    return NULL;

  g_variant_lookup (options, "overwrite", "b", &overwrite);
  g_variant_lookup (options, "destination", "&s", &destination);
  g_variant_lookup (options, "destination-fd", "h", &fd_index);
  if ((destination != NULL) == (fd_index != -1))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "Give exactly one of the options destination and destination-fd");
      return NULL;
    }

  /* Last: creates the partial file */
  if (destination != NULL)
    self->destination
        = destination_for_path (destination, overwrite, sandboxed, "destination", error);
  else
    self->destination = destination_for_fd (fd_list, fd_index, "destination-fd", error);
  if (self->destination == NULL)
    return NULL;

  return g_steal_pointer (&self);
}

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
 * bt_transfer_new_upload:
 * @responses_dir: where the service keeps replies when the app gives no
 *   response-destination
 */
BtTransfer *
bt_transfer_new_upload (const char *id, const char *app_id, guint64 seq, const char *uri,
                        GVariant *options, GUnixFDList *fd_list, gboolean sandboxed,
                        const char *responses_dir, GError **error)
{
  g_autoptr (BtTransfer) self = NULL;
  g_autoptr (GUri) parsed = NULL;
  g_autoptr (GVariant) parts = NULL;
  g_autoptr (GVariant) response = NULL;
  const char *source = NULL;
  const char *str;
  gint32 fd_index = -1;
  BtScheme scheme;
  int n_sources;

  if (!check_options (options, upload_options, G_N_ELEMENTS (upload_options), error))
    return NULL;
  response = g_variant_lookup_value (options, "response-destination", NULL);
  if (response != NULL && !g_variant_is_of_type (response, G_VARIANT_TYPE_STRING)
      && !g_variant_is_of_type (response, G_VARIANT_TYPE_HANDLE))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "Option “response-destination” must be of type “s” or “h”");
      return NULL;
    }

  parsed = bt_validate_uri (uri, &scheme, error);
  if (parsed == NULL)
    return NULL;
  if (scheme != BT_SCHEME_HTTP && scheme != BT_SCHEME_HTTPS)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_UNSUPPORTED_SCHEME,
                           "Uploads go over http or https only");
      return NULL;
    }

  self = transfer_new (id, app_id, seq, BT_KIND_UPLOAD, parsed, sandboxed);
  g_free (self->method);
  self->method = g_strdup ("POST");
  if (!parse_common (self, options, error))
    return NULL;

  if (g_variant_lookup (options, "method", "&s", &str))
    {
      if (!g_str_equal (str, "POST") && !g_str_equal (str, "PUT"))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Unsupported upload method “%s”: use POST or PUT", str);
          return NULL;
        }
      g_free (self->method);
      self->method = g_strdup (str);
    }
  if (g_variant_lookup (options, "protocol", "&s", &str))
    {
      if (g_str_equal (str, "tus"))
        self->tus = TRUE;
      else if (!g_str_equal (str, "plain"))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Invalid protocol “%s”: use plain or tus", str);
          return NULL;
        }
    }

  n_sources = g_variant_lookup (options, "source", "&s", &source);
  n_sources += g_variant_lookup (options, "source-fd", "h", &fd_index);
  parts = g_variant_lookup_value (options, "parts", G_VARIANT_TYPE ("aa{sv}"));
  n_sources += parts != NULL;
  if (n_sources != 1)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "Give exactly one of the options source, source-fd and parts");
      return NULL;
    }
  if (source != NULL && sandboxed)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                           "A sandboxed application names files only by descriptor: use "
                           "source-fd");
      return NULL;
    }
  if (source != NULL)
    self->source = bt_source_new_for_path (source, error);
  else if (parts != NULL)
    self->source = bt_source_new_for_parts (parts, fd_list, sandboxed, error);
  else
    {
      int fd = get_passed_fd (fd_list, fd_index, "source-fd", error);

      if (fd < 0)
        return NULL;
      self->source = bt_source_new_for_fd (fd, error);
      close (fd);
    }
  if (self->source == NULL)
    return NULL;
  self->total_to_send = bt_source_get_size (self->source);
  self->is_resumable = self->tus;
  if (self->tus && (parts != NULL || !bt_source_is_seekable (self->source)))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "A tus upload needs a regular file as its source");
      return NULL;
    }

  /* Last: creates the reply's file */
  if (response == NULL)
    {
      g_autofree char *path = g_build_filename (responses_dir, id, NULL);

      if (g_mkdir_with_parents (responses_dir, 0700) < 0)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "Cannot create “%s”: %s", responses_dir,
                       g_strerror (errno));
          return NULL;
        }
      self->response_in_state = TRUE;
      self->destination = bt_destination_new_for_path (path, TRUE, error);
    }
  else if (g_variant_is_of_type (response, G_VARIANT_TYPE_STRING))
    self->destination = destination_for_path (g_variant_get_string (response, NULL), FALSE,
                                              sandboxed, "response-destination", error);
  else
    self->destination = destination_for_fd (fd_list, g_variant_get_handle (response),
                                            "response-destination", error);
  if (self->destination == NULL)
    return NULL;

  return g_steal_pointer (&self);
}

/* ---- Persistence -------------------------------------------------------- */

static GVariant *string_pairs (GPtrArray *pairs, gboolean hide_secrets);

static void
add_string (GVariantBuilder *builder, const char *key, const char *value)
{
  if (value != NULL)
    g_variant_builder_add (builder, "{sv}", key, g_variant_new_string (value));
}

static GVariant *
persistent_headers (BtTransfer *self)
{
  GVariantBuilder builder;

  /* Secret values never reach the disk (see SPEC §3 "Auth & headers") */
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i + 1 < self->headers->len; i += 2)
    {
      const char *name = g_ptr_array_index (self->headers, i);

      if (!bt_header_is_secret (name))
        g_variant_builder_add (&builder, "(ss)", name,
                               (const char *) g_ptr_array_index (self->headers, i + 1));
    }
  return g_variant_builder_end (&builder);
}

static char *
digest_to_string (BtDigest *digest)
{
  return g_strdup_printf ("%s:%s", digest->type == G_CHECKSUM_SHA512 ? "sha512" : "sha256",
                          digest->hex);
}

/*
 * bt_transfer_serialize:
 *
 * Returns: (transfer floating): the record of the transfer for the store.
 * Progress is the last checkpoint, not what is merely written.
 */
GVariant *
bt_transfer_serialize (BtTransfer *self)
{
  GVariantBuilder b;
  const char *path = bt_destination_get_path (self->destination);

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "kind", bt_kind_to_string (self->kind));
  add_string (&b, "uri", self->uri);
  add_string (&b, "method", self->method);
  g_variant_builder_add (&b, "{sv}", "headers", persistent_headers (self));
  add_string (&b, "priority", bt_priority_to_string (self->priority));
  add_string (&b, "cost-policy", bt_cost_policy_to_string (self->cost_policy));
  add_string (&b, "group", self->group);
  add_string (&b, "tag", self->tag);
  g_variant_builder_add (&b, "{sv}", "fail-if-changed",
                         g_variant_new_boolean (self->fail_if_changed));
  if (self->checksum != NULL)
    g_variant_builder_add (&b, "{sv}", "checksum",
                           g_variant_new_take_string (digest_to_string (self->checksum)));
  if (self->mirrors != NULL)
    g_variant_builder_add (&b, "{sv}", "mirrors",
                           g_variant_new_strv ((const char *const *) self->mirrors, -1));
  g_variant_builder_add (&b, "{sv}", "created-time", g_variant_new_int64 (self->created_time));
  add_string (&b, "destination", path);
  if (self->source != NULL)
    g_variant_builder_add (&b, "{sv}", "source", bt_source_serialize (self->source));
  g_variant_builder_add (&b, "{sv}", "tus", g_variant_new_boolean (self->tus));
  add_string (&b, "tus-url", self->tus_url);
  g_variant_builder_add (&b, "{sv}", "response-in-state",
                         g_variant_new_boolean (self->response_in_state));
  g_variant_builder_add (&b, "{sv}", "total-to-send", g_variant_new_uint64 (self->total_to_send));
  g_variant_builder_add (&b, "{sv}", "overwrite",
                         g_variant_new_boolean (bt_destination_get_overwrite (self->destination)));

  add_string (&b, "status", bt_status_to_string (self->status));
  g_variant_builder_add (&b, "{sv}", "queued", g_variant_new_boolean (self->queued));
  add_string (&b, "actual-uri", self->actual_uri);
  g_variant_builder_add (&b, "{sv}", "bytes",
                         g_variant_new_uint64 (self->status == BT_STATUS_COMPLETED
                                                   ? self->bytes_received
                                                   : self->checkpoint_bytes));
  g_variant_builder_add (&b, "{sv}", "synced-bytes", g_variant_new_uint64 (self->synced_bytes));
  g_variant_builder_add (&b, "{sv}", "committing", g_variant_new_boolean (self->committing));
  g_variant_builder_add (&b, "{sv}", "sandboxed", g_variant_new_boolean (self->sandboxed));
  add_string (&b, "boot-id", bt_boot_id ());
  g_variant_builder_add (&b, "{sv}", "total", g_variant_new_uint64 (self->total_bytes));
  g_variant_builder_add (&b, "{sv}", "http-status", g_variant_new_uint32 (self->http_status));
  g_variant_builder_add (&b, "{sv}", "response-headers",
                         string_pairs (self->response_headers, TRUE));
  add_string (&b, "etag", self->etag);
  add_string (&b, "last-modified", self->last_modified);
  if (self->server_digest != NULL)
    {
      g_variant_builder_add (&b, "{sv}", "server-digest",
                             g_variant_new_take_string (digest_to_string (self->server_digest)));
      add_string (&b, "server-digest-origin", self->server_digest->origin);
    }
  g_variant_builder_add (&b, "{sv}", "uri-index", g_variant_new_uint32 (self->uri_index));
  g_variant_builder_add (&b, "{sv}", "is-resumable", g_variant_new_boolean (self->is_resumable));
  g_variant_builder_add (&b, "{sv}", "attempts", g_variant_new_uint32 (self->attempts));
  g_variant_builder_add (&b, "{sv}", "retries", g_variant_new_uint32 (self->retries));
  add_string (&b, "error-status", bt_error_status_to_string (self->error_status));
  add_string (&b, "error-message", self->error_message);
  g_variant_builder_add (&b, "{sv}", "completed-time", g_variant_new_int64 (self->completed_time));
  g_variant_builder_add (&b, "{sv}", "has-secrets", g_variant_new_boolean (self->has_secrets));
  add_string (&b, "completion-group", self->completion_group);
  if (self->rate_limiter != NULL)
    g_variant_builder_add (&b, "{sv}", "max-rate",
                           g_variant_new_uint64 (bt_rate_limiter_get_rate (self->rate_limiter)));
  if (self->notify != NULL)
    g_variant_builder_add (&b, "{sv}", "notify", self->notify);
  g_variant_builder_add (&b, "{sv}", "notified", g_variant_new_boolean (self->notified));
  return g_variant_builder_end (&b);
}

static gboolean
status_from_string (const char *str, BtStatus *out)
{
  for (BtStatus s = BT_STATUS_IDLE; s <= BT_STATUS_ERROR; s++)
    {
      if (g_str_equal (bt_status_to_string (s), str))
        {
          *out = s;
          return TRUE;
        }
    }
  return FALSE;
}

static BtErrorStatus
error_status_from_string (const char *str)
{
  for (BtErrorStatus s = BT_ERROR_STATUS_NONE; s <= BT_ERROR_STATUS_UNKNOWN; s++)
    {
      if (g_str_equal (bt_error_status_to_string (s), str))
        return s;
    }
  return BT_ERROR_STATUS_UNKNOWN;
}

static GPtrArray *
pairs_from_variant (GVariant *value)
{
  GPtrArray *pairs = g_ptr_array_new_with_free_func (g_free);
  GVariantIter iter;
  const char *name, *v;

  if (value == NULL)
    return pairs;
  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &v))
    {
      g_ptr_array_add (pairs, g_strdup (name));
      g_ptr_array_add (pairs, g_strdup (v));
    }
  return pairs;
}

static char *
lookup_string (GVariantDict *record, const char *key)
{
  const char *value = NULL;

  if (!g_variant_dict_lookup (record, key, "&s", &value))
    return NULL;
  return g_strdup (value);
}

/* An unfinished plain upload starts again from zero; a tus upload asks the
 * server where it stands. The reply is fetched again either way. */
static BtTransfer *
recover_upload (BtTransfer *self, GVariantDict *record, const char *path, gboolean overwrite)
{
  g_autoptr (GVariant) source
      = g_variant_dict_lookup_value (record, "source", G_VARIANT_TYPE_VARDICT);
  g_autoptr (GError) error = NULL;

  g_variant_dict_lookup (record, "tus", "b", &self->tus);
  self->tus_url = lookup_string (record, "tus-url");
  g_variant_dict_lookup (record, "response-in-state", "b", &self->response_in_state);
  g_variant_dict_lookup (record, "total-to-send", "t", &self->total_to_send);
  self->destination = path != NULL ? bt_destination_new_recovered (path, overwrite)
                                   : bt_destination_new_detached ();
  if (source != NULL)
    self->source = bt_source_new_from_record (source, &error);
  else
    g_set_error_literal (&error, BT_ERROR, BT_ERROR_FAILED, "The upload's source is unknown");

  if (bt_status_is_finished (self->status))
    {
      g_variant_dict_lookup (record, "bytes", "t", &self->bytes_received);
      self->bytes_sent = self->status == BT_STATUS_COMPLETED ? self->total_to_send : 0;
      return self;
    }
  if (self->source == NULL || path == NULL)
    {
      self->status = BT_STATUS_ERROR;
      self->queued = FALSE;
      self->error_status = BT_ERROR_STATUS_UNKNOWN;
      g_free (self->error_message);
      self->error_message
          = g_strdup (self->source == NULL ? error->message
                                           : "The reply's file descriptor was lost when the "
                                             "service stopped");
      return self;
    }
  if (self->status != BT_STATUS_PAUSED_BY_APPLICATION
      && (self->status != BT_STATUS_IDLE || self->queued))
    {
      self->status = BT_STATUS_IDLE;
      self->queued = TRUE;
    }
  bt_destination_recover (self->destination, 0, FALSE);
  return self;
}

/*
 * bt_transfer_new_from_record:
 *
 * Rebuilds a transfer from the store after a restart. An unfinished one
 * goes back to the queue (unless the app paused it) and resumes from its
 * re-validated checkpoint. Returns %NULL for a record that makes no sense.
 */
BtTransfer *
bt_transfer_new_from_record (const char *id, const char *app_id, guint64 seq, GVariant *data)
{
  g_autoptr (BtTransfer) self = g_object_new (BT_TYPE_TRANSFER, NULL);
  /* One pass over the record: every lookup after it is a hash lookup */
  g_autoptr (GVariantDict) record = g_variant_dict_new (data);
  g_autoptr (GUri) valid_uri = NULL;
  g_autoptr (GVariant) headers = NULL;
  g_autoptr (GVariant) response_headers = NULL;
  g_autofree char *path = NULL;
  g_autofree char *status = NULL;
  g_autofree char *checksum = NULL;
  g_autofree char *server_digest = NULL;
  g_autofree char *digest_origin = NULL;
  g_autofree char *error_status = NULL;
  g_autofree char *str = NULL;
  gboolean overwrite = FALSE;
  guint64 bytes = 0;
  guint64 synced;
  g_autofree char *boot_id = NULL;
  gboolean same_boot;
  BtStatus recorded_status;
  gboolean recorded_queued;
  gboolean committing = FALSE;

  self->id = g_strdup (id);
  self->object_path = g_strconcat (BT_TRANSFER_PATH_PREFIX, id, NULL);
  self->app_id = g_strdup (app_id);
  self->seq = seq;
  self->kind = BT_KIND_DOWNLOAD;

  self->uri = lookup_string (record, "uri");
  status = lookup_string (record, "status");
  str = lookup_string (record, "kind");
  if (g_strcmp0 (str, "upload") == 0)
    self->kind = BT_KIND_UPLOAD;
  g_clear_pointer (&str, g_free);
  if (self->uri != NULL)
    valid_uri = bt_validate_uri (self->uri, NULL, NULL);
  if (valid_uri == NULL || status == NULL || !status_from_string (status, &self->status))
    {
      g_warning ("Skipping the invalid record of transfer %s", id);
      return NULL;
    }
  str = lookup_string (record, "method");
  if (str != NULL)
    {
      g_free (self->method);
      self->method = g_steal_pointer (&str);
    }
  headers = g_variant_dict_lookup_value (record, "headers", G_VARIANT_TYPE ("a(ss)"));
  g_ptr_array_unref (self->headers);
  self->headers = pairs_from_variant (headers);
  if ((str = lookup_string (record, "priority")) != NULL)
    bt_priority_from_string (str, &self->priority);
  g_clear_pointer (&str, g_free);
  if ((str = lookup_string (record, "cost-policy")) != NULL)
    bt_cost_policy_from_string (str, &self->cost_policy);
  g_clear_pointer (&str, g_free);
  self->group = lookup_string (record, "group");
  self->tag = lookup_string (record, "tag");
  g_variant_dict_lookup (record, "fail-if-changed", "b", &self->fail_if_changed);
  checksum = lookup_string (record, "checksum");
  if (checksum != NULL)
    self->checksum = bt_digest_parse_option (checksum, NULL);
  g_variant_dict_lookup (record, "mirrors", "^as", &self->mirrors);
  g_variant_dict_lookup (record, "created-time", "x", &self->created_time);
  path = lookup_string (record, "destination");
  g_variant_dict_lookup (record, "overwrite", "b", &overwrite);

  g_variant_dict_lookup (record, "queued", "b", &self->queued);
  g_variant_dict_lookup (record, "sandboxed", "b", &self->sandboxed);
  self->actual_uri = lookup_string (record, "actual-uri");
  g_variant_dict_lookup (record, "bytes", "t", &bytes);
  /* After a reboot, only the flushed part of the data counts */
  synced = bytes;
  g_variant_dict_lookup (record, "synced-bytes", "t", &synced);
  boot_id = lookup_string (record, "boot-id");
  same_boot = g_strcmp0 (boot_id, bt_boot_id ()) == 0;
  if (!same_boot)
    bytes = MIN (bytes, synced);
  g_variant_dict_lookup (record, "total", "t", &self->total_bytes);
  g_variant_dict_lookup (record, "http-status", "u", &self->http_status);
  response_headers
      = g_variant_dict_lookup_value (record, "response-headers", G_VARIANT_TYPE ("a(ss)"));
  g_ptr_array_unref (self->response_headers);
  self->response_headers = pairs_from_variant (response_headers);
  self->etag = lookup_string (record, "etag");
  self->last_modified = lookup_string (record, "last-modified");
  server_digest = lookup_string (record, "server-digest");
  digest_origin = lookup_string (record, "server-digest-origin");
  if (server_digest != NULL)
    {
      self->server_digest = bt_digest_parse_option (server_digest, NULL);
      if (self->server_digest != NULL && digest_origin != NULL)
        {
          g_free (self->server_digest->origin);
          self->server_digest->origin = g_steal_pointer (&digest_origin);
        }
    }
  g_variant_dict_lookup (record, "uri-index", "u", &self->uri_index);
  if (self->mirrors == NULL || self->uri_index > g_strv_length (self->mirrors))
    self->uri_index = 0;
  g_variant_dict_lookup (record, "is-resumable", "b", &self->is_resumable);
  g_variant_dict_lookup (record, "attempts", "u", &self->attempts);
  g_variant_dict_lookup (record, "retries", "u", &self->retries);
  error_status = lookup_string (record, "error-status");
  self->error_status
      = error_status != NULL ? error_status_from_string (error_status) : BT_ERROR_STATUS_NONE;
  self->error_message = lookup_string (record, "error-message");
  g_variant_dict_lookup (record, "completed-time", "x", &self->completed_time);
  g_variant_dict_lookup (record, "has-secrets", "b", &self->has_secrets);
  self->completion_group = lookup_string (record, "completion-group");
  {
    guint64 max_rate = 0;

    if (g_variant_dict_lookup (record, "max-rate", "t", &max_rate) && max_rate > 0)
      self->rate_limiter = bt_rate_limiter_new (max_rate);
  }
  self->notify = g_variant_dict_lookup_value (record, "notify", G_VARIANT_TYPE_VARDICT);
  g_variant_dict_lookup (record, "notified", "b", &self->notified);
  /* Read back from the Secret Service before it may run */
  self->secrets_pending = self->has_secrets && !bt_status_is_finished (self->status);

  if (self->kind == BT_KIND_UPLOAD)
    return recover_upload (g_steal_pointer (&self), record, path, overwrite);

  if (path != NULL)
    self->destination = bt_destination_new_recovered (path, overwrite);
  else
    {
      /* The caller's fd died with the previous instance */
      self->destination = bt_destination_new_detached ();
      if (!bt_status_is_finished (self->status))
        {
          self->recovered_changes = TRUE;
          self->status = BT_STATUS_ERROR;
          self->queued = FALSE;
          self->error_status = BT_ERROR_STATUS_DESTINATION_UNWRITABLE;
          g_free (self->error_message);
          self->error_message = g_strdup ("The destination file descriptor was lost when the "
                                          "service stopped");
        }
      return g_steal_pointer (&self);
    }

  recorded_status = self->status;
  recorded_queued = self->queued;
  g_variant_dict_lookup (record, "committing", "b", &committing);
  if (committing && !bt_status_is_finished (self->status)
      && bt_destination_was_committed (self->destination, self->total_bytes))
    {
      /* Stopped between the rename into place and its record */
      self->status = BT_STATUS_COMPLETED;
      self->queued = FALSE;
      self->completed_time = g_get_real_time ();
      if (self->total_bytes != G_MAXUINT64)
        bytes = self->total_bytes;
    }
  switch (self->status)
    {
      case BT_STATUS_COMPLETED:
        self->bytes_received = self->checkpoint_bytes = bytes;
        break;
      case BT_STATUS_CANCELED:
        break;
      case BT_STATUS_ERROR:
        /* Only disk-full keeps its data for Resume() */
        if (self->error_status == BT_ERROR_STATUS_DISK_FULL)
          self->bytes_received = self->checkpoint_bytes
              = bt_destination_recover (self->destination, bytes, same_boot);
        break;
      case BT_STATUS_PAUSED_BY_APPLICATION:
        self->bytes_received = self->checkpoint_bytes
            = bt_destination_recover (self->destination, bytes, same_boot);
        break;
      case BT_STATUS_IDLE:
        if (!self->queued)
          {
            self->bytes_received = self->checkpoint_bytes
                = bt_destination_recover (self->destination, bytes, same_boot);
            break;
          }
        G_GNUC_FALLTHROUGH;
      default:
        /* Was running or waiting to run: back in the queue */
        self->status = BT_STATUS_IDLE;
        self->queued = TRUE;
        self->bytes_received = self->checkpoint_bytes
            = bt_destination_recover (self->destination, bytes, same_boot);
        break;
    }
  self->synced_bytes = MIN (synced, self->checkpoint_bytes);
  self->recovered_changes = self->status != recorded_status || self->queued != recorded_queued
                            || self->bytes_received != bytes;
  if (self->bytes_received == 0 && !bt_status_is_finished (self->status))
    {
      /* Nothing to resume from: the old validators mean nothing */
      g_clear_pointer (&self->etag, g_free);
      g_clear_pointer (&self->last_modified, g_free);
    }
  return g_steal_pointer (&self);
}

void
bt_transfer_save (BtTransfer *self)
{
  if (self->store != NULL)
    bt_store_put (self->store, self->id, self->app_id, self->seq, bt_transfer_serialize (self));
}

/* A sandboxed app reaches loopback and private addresses through us only
 * if the user listed it in local-network-apps (FAULTS X3): it must not
 * use the service to reach what its sandbox keeps it from */
gboolean
bt_transfer_may_reach_local_network (BtTransfer *self)
{
  g_auto (GStrv) allowed = NULL;

  if (!self->sandboxed)
    return TRUE;
  allowed = g_settings_get_strv (self->settings, "local-network-apps");
  return g_strv_contains ((const char *const *) allowed, self->app_id);
}

/*
 * bt_transfer_commit_destination:
 *
 * Renames the finished data into place, crash-safely: the intent is
 * committed to the store first, so that a service killed between the
 * rename and the record of its success finds out, when it restarts, that
 * the file is already there (bt_destination_was_committed()) instead of
 * finding it "created by someone else".
 */
gboolean
bt_transfer_commit_destination (BtTransfer *self, GError **error)
{
  self->committing = TRUE;
  if (self->store != NULL)
    {
      bt_transfer_save (self);
      if (!bt_store_flush (self->store, error))
        {
          self->committing = FALSE;
          return FALSE;
        }
    }
  if (!bt_destination_commit (self->destination, self->bytes_received, error))
    {
      self->committing = FALSE;
      return FALSE;
    }
  return TRUE;
}

/* Flushes the partial data, then records how far it goes */
void
bt_transfer_checkpoint (BtTransfer *self)
{
  g_autoptr (GError) error = NULL;

  if (self->bytes_received == self->checkpoint_bytes)
    return;
  if (!bt_destination_sync (self->destination, &error))
    {
      g_warning ("Transfer %s: %s", self->id, error->message);
      return;
    }
  self->checkpoint_bytes = self->synced_bytes = self->bytes_received;
  self->checkpoint_generation++; /* a background flush would only lag */
  bt_transfer_save (self);
}

/* The data starts over (or is gone): the checkpoint follows at once and any
 * flush in flight no longer counts */
void
bt_transfer_reset_checkpoint (BtTransfer *self, guint64 bytes)
{
  self->checkpoint_generation++;
  self->synced_bytes = MIN (self->synced_bytes, bytes);
  if (bytes < self->checkpoint_bytes)
    {
      self->checkpoint_bytes = bytes;
      bt_transfer_save (self);
    }
}

typedef struct
{
  int fd;
  guint64 bytes;
  guint generation;
  gboolean flush;
} SyncData;

static void
sync_data_free (SyncData *data)
{
  close (data->fd);
  g_free (data);
}

static void
sync_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  SyncData *data = task_data;

  /* Between flushes, start the write-back of what came so far without
   * waiting for it: the disk works while the network does, and neither a
   * flush nor the final one before the rename has a backlog to wait for */
  if (!data->flush)
    {
      sync_file_range (data->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (fdatasync (data->fd) < 0)
    {
      int errsv = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errsv), "%s",
                               g_strerror (errsv));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_synced (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtTransfer *self = BT_TRANSFER (source);
  SyncData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  self->checkpoint_in_flight = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_warning ("Transfer %s: cannot flush the partial file: %s", self->id, error->message);
      return;
    }
  if (data->generation != self->checkpoint_generation || data->bytes <= self->checkpoint_bytes)
    return;
  self->checkpoint_bytes = data->bytes;
  if (data->flush)
    {
      self->synced_bytes = data->bytes;
      bt_transfer_save (self);
    }
  else if (self->store != NULL)
    bt_store_put_progress (self->store, self->id, self->app_id, self->seq,
                           bt_transfer_serialize (self));
}

/* Like bt_transfer_checkpoint(), but the flush runs in a worker thread so
 * that the download does not wait for the disk.
 *
 * Without @flush it only records how far the data goes: what a process
 * wrote survives the process, so that is enough to resume after a crash
 * of the service within the same boot; the flushed count is what counts
 * after a crash of the machine (see bt_destination_recover()). Flushing
 * at every checkpoint would make a fast download wait for the disk. */
void
bt_transfer_checkpoint_in_background (BtTransfer *self, gboolean flush)
{
  g_autoptr (GTask) task = NULL;
  SyncData *data;
  int fd;

  if (self->checkpoint_in_flight || self->bytes_received == self->checkpoint_bytes)
    return;
  fd = bt_destination_dup_fd (self->destination);
  if (fd < 0)
    return;

  data = g_new0 (SyncData, 1);
  data->fd = fd;
  data->bytes = self->bytes_received;
  data->generation = self->checkpoint_generation;
  data->flush = flush;
  self->checkpoint_in_flight = TRUE;

  task = g_task_new (self, NULL, on_synced, NULL);
  g_task_set_source_tag (task, bt_transfer_checkpoint_in_background);
  g_task_set_task_data (task, data, (GDestroyNotify) sync_data_free);
  g_task_run_in_thread (task, sync_thread);
}

/* Whether the service must stay up for this transfer */
gboolean
bt_transfer_keeps_service_busy (BtTransfer *self)
{
  return self->job != NULL || self->queued || self->retry_source != 0;
}

/* ---- Properties -------------------------------------------------------- */

static GVariant *
string_pairs (GPtrArray *pairs, gboolean hide_secrets)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i + 1 < pairs->len; i += 2)
    {
      const char *name = g_ptr_array_index (pairs, i);

      if (hide_secrets
          && (g_ascii_strcasecmp (name, "Set-Cookie") == 0
              || g_ascii_strcasecmp (name, "Authentication-Info") == 0
              || g_ascii_strcasecmp (name, "Proxy-Authentication-Info") == 0))
        continue;
      g_variant_builder_add (&builder, "(ss)", name,
                             (const char *) g_ptr_array_index (pairs, i + 1));
    }
  return g_variant_builder_end (&builder);
}

static GVariant *
ranges_downloaded (BtTransfer *self)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(tt)"));
  if (self->bytes_received > 0)
    g_variant_builder_add (&builder, "(tt)", (guint64) 0, self->bytes_received);
  return g_variant_builder_end (&builder);
}

#define S(x) g_variant_new_string ((x) != NULL ? (x) : "")

static GVariant *
get_property_value (BtTransfer *self, const char *name)
{
  const char *destination = bt_destination_get_path (self->destination);

  if (g_str_equal (name, "Id"))
    return S (self->id);
  if (g_str_equal (name, "Kind"))
    return S (bt_kind_to_string (self->kind));
  if (g_str_equal (name, "Uri"))
    return S (self->uri);
  if (g_str_equal (name, "ActualUri"))
    return S (self->actual_uri);
  if (g_str_equal (name, "Destination"))
    return S (self->response_in_state ? NULL : destination);
  if (g_str_equal (name, "Source"))
    return S (self->source != NULL ? bt_source_get_path (self->source) : NULL);
  if (g_str_equal (name, "Method"))
    return S (self->method);
  if (g_str_equal (name, "Status"))
    return S (bt_status_to_string (self->status));
  if (g_str_equal (name, "BytesReceived"))
    return g_variant_new_uint64 (self->bytes_received);
  if (g_str_equal (name, "TotalBytesToReceive"))
    return g_variant_new_uint64 (self->total_bytes);
  if (g_str_equal (name, "BytesSent"))
    return g_variant_new_uint64 (self->bytes_sent);
  if (g_str_equal (name, "TotalBytesToSend"))
    return g_variant_new_uint64 (self->total_to_send);
  if (g_str_equal (name, "Priority"))
    return S (bt_priority_to_string (self->priority));
  if (g_str_equal (name, "CostPolicy"))
    return S (bt_cost_policy_to_string (self->cost_policy));
  if (g_str_equal (name, "Group"))
    return S (self->group);
  if (g_str_equal (name, "Tag"))
    return S (self->tag);
  if (g_str_equal (name, "CreatedTime"))
    return g_variant_new_int64 (self->created_time);
  if (g_str_equal (name, "CompletedTime"))
    return g_variant_new_int64 (self->completed_time);
  if (g_str_equal (name, "HttpStatus"))
    return g_variant_new_uint32 (self->http_status);
  if (g_str_equal (name, "ResponseHeaders"))
    return string_pairs (self->response_headers, TRUE);
  if (g_str_equal (name, "IsResumable"))
    return g_variant_new_boolean (self->is_resumable);
  if (g_str_equal (name, "RangesDownloaded"))
    return ranges_downloaded (self);
  if (g_str_equal (name, "Rate"))
    return g_variant_new_uint64 (self->rate);
  if (g_str_equal (name, "Attempts"))
    return g_variant_new_uint32 (self->attempts);
  if (g_str_equal (name, "ErrorStatus"))
    return S (bt_error_status_to_string (self->error_status));
  if (g_str_equal (name, "ErrorMessage"))
    return S (self->error_message);
  return NULL;
}

#undef S

/* ---- Change notification ------------------------------------------------ */

static gboolean
on_flush_timeout (gpointer user_data)
{
  BtTransfer *self = user_data;

  self->flush_source = 0;
  flush_changes (self);
  return G_SOURCE_REMOVE;
}

static void
flush_changes (BtTransfer *self)
{
  g_autoptr (GVariant) signal_params = NULL;
  GVariantBuilder changed;
  GHashTableIter iter;
  gpointer key;
  GPtrArray *peers;

  g_clear_handle_id (&self->flush_source, g_source_remove);
  if (g_hash_table_size (self->dirty) == 0)
    return;

  self->last_flush_us = g_get_monotonic_time ();
  g_variant_builder_init (&changed, G_VARIANT_TYPE_VARDICT);
  g_hash_table_iter_init (&iter, self->dirty);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_variant_builder_add (&changed, "{sv}", (const char *) key, get_property_value (self, key));
  g_hash_table_remove_all (self->dirty);

  signal_params
      = g_variant_ref_sink (g_variant_new ("(sa{sv}as)", BT_TRANSFER_INTERFACE, &changed, NULL));

  if (!self->exported)
    return;
  peers = bt_callers_get_peers (self->callers, self->app_id);
  for (guint i = 0; peers != NULL && i < peers->len; i++)
    {
      g_autoptr (GError) error = NULL;

      /* Unicast: nobody but the owner learns a URI or a byte count */
      if (!g_dbus_connection_emit_signal (self->connection, g_ptr_array_index (peers, i),
                                          self->object_path, "org.freedesktop.DBus.Properties",
                                          "PropertiesChanged", signal_params, &error))
        g_debug ("Cannot notify %s: %s", (const char *) g_ptr_array_index (peers, i),
                 error->message);
    }
}

static const char *const immediate_properties[] = {
  "Status", "ErrorStatus", "ErrorMessage", "CompletedTime", "Priority", "CostPolicy", "Uri",
};

/*
 * bt_transfer_changed:
 * @property: (not nullable): a property name of the Transfer interface
 *
 * Announces a change. Counters are coalesced; the others go out at once,
 * together with any pending counter changes.
 */
void
bt_transfer_changed (BtTransfer *self, const char *property)
{
  gboolean immediate = FALSE;
  gint64 now, due;

  g_hash_table_add (self->dirty, (gpointer) g_intern_string (property));

  for (gsize i = 0; i < G_N_ELEMENTS (immediate_properties); i++)
    {
      if (g_str_equal (property, immediate_properties[i]))
        {
          immediate = TRUE;
          break;
        }
    }

  if (immediate)
    {
      /* Several changes of one step (say error status, message and status)
       * go out as one signal from the main loop, but before anything else. */
      if (self->flush_source != 0)
        g_source_remove (self->flush_source);
      self->flush_source = g_idle_add_full (G_PRIORITY_HIGH, on_flush_timeout, self, NULL);
      return;
    }

  if (self->flush_source != 0)
    return;
  now = g_get_monotonic_time ();
  due = self->last_flush_us + BT_NOTIFY_MIN_INTERVAL_US;
  self->flush_source
      = g_timeout_add_full (G_PRIORITY_DEFAULT, due > now ? (guint) ((due - now) / 1000) + 1 : 0,
                            on_flush_timeout, self, NULL);
}

void
bt_transfer_set_status (BtTransfer *self, BtStatus status)
{
  if (self->status == status)
    return;

  g_debug ("Transfer %s: %s → %s", self->id, bt_status_to_string (self->status),
           bt_status_to_string (status));
  self->status = status;
  bt_transfer_changed (self, "Status");
  if (bt_status_is_finished (status))
    self->committing = FALSE;

  if ((status == BT_STATUS_COMPLETED || status == BT_STATUS_CANCELED) && self->has_secrets)
    {
      /* No longer needed: gone from the Secret Service and from memory */
      bt_secrets_clear (self->id);
      bt_secrets_free (self->secrets);
      self->secrets = bt_secrets_new ();
      self->has_secrets = FALSE;
    }
  if (bt_status_is_finished (status))
    {
      self->queued = FALSE;
      self->completed_time = g_get_real_time ();
      bt_transfer_changed (self, "CompletedTime");
    }
  if (self->rate != 0 && status != BT_STATUS_RUNNING)
    {
      self->rate = 0;
      bt_transfer_changed (self, "Rate");
    }

  bt_transfer_save (self);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
}

void
bt_transfer_set_error (BtTransfer *self, BtErrorStatus error_status, const char *message)
{
  if (self->error_status != error_status)
    {
      self->error_status = error_status;
      bt_transfer_changed (self, "ErrorStatus");
    }
  if (g_strcmp0 (self->error_message, message) != 0)
    {
      g_free (self->error_message);
      self->error_message = g_strdup (message);
      bt_transfer_changed (self, "ErrorMessage");
    }
}

gboolean
bt_transfer_is_unfinished (BtTransfer *self)
{
  return !bt_status_is_finished (self->status);
}

/* ---- Running ------------------------------------------------------------ */

static guint
backoff_seconds (guint retry)
{
  /* 1 s, 4 s, 16 s, … (SPEC §8 "Retries") */
  guint s = 1;

  for (guint i = 1; i < retry && s < 3600; i++)
    s *= 4;
  return MIN (s, 3600);
}

static gboolean
on_retry_timeout (gpointer user_data)
{
  BtTransfer *self = user_data;

  self->retry_source = 0;
  self->queued = TRUE;
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

/* Keeps the partial data only where Resume() can use it (SPEC §8) */
static void
fail (BtTransfer *self, BtErrorStatus error_status, const char *message)
{
  bt_transfer_set_error (self, error_status, message);
  if (error_status != BT_ERROR_STATUS_DISK_FULL)
    {
      bt_destination_discard (self->destination);
      bt_transfer_reset_checkpoint (self, 0);
      if (self->bytes_received != 0)
        {
          self->bytes_received = 0;
          bt_transfer_changed (self, "BytesReceived");
          bt_transfer_changed (self, "RangesDownloaded");
        }
    }
  bt_transfer_set_status (self, BT_STATUS_ERROR);
}

const char *
bt_transfer_get_current_uri (BtTransfer *self)
{
  if (self->uri_index == 0 || self->mirrors == NULL)
    return self->uri;
  return self->mirrors[self->uri_index - 1];
}

/*
 * bt_transfer_waits_for_network:
 *
 * Whether the transfer must wait because its host cannot be reached.
 */
gboolean
bt_transfer_waits_for_network (BtTransfer *self)
{
  return self->policy != NULL
         && bt_policy_is_offline_for (self->policy, bt_transfer_get_current_uri (self));
}

/*
 * bt_transfer_hold:
 * @status: the paused-* status that says why
 *
 * The policy forbids the transfer to run for now: it stops (its data
 * checkpointed) and waits in the queue for the state to allow it.
 */
void
bt_transfer_hold (BtTransfer *self, BtStatus status)
{
  if (self->job != NULL)
    {
      bt_job_stop (self->job);
      bt_transfer_checkpoint (self);
    }
  self->queued = TRUE;
  bt_transfer_set_status (self, status);
}

/* SPEC §8: mirrors are tried after a failure that is not 401, 403 or a
 * local error. */
static gboolean
try_next_mirror (BtTransfer *self, BtErrorStatus error_status)
{
  if (self->mirrors == NULL || self->uri_index >= g_strv_length (self->mirrors))
    return FALSE;
  switch (error_status)
    {
      case BT_ERROR_STATUS_UNAUTHORIZED:
      case BT_ERROR_STATUS_FORBIDDEN:
      case BT_ERROR_STATUS_DISK_FULL:
      case BT_ERROR_STATUS_DESTINATION_UNWRITABLE:
      case BT_ERROR_STATUS_RESOURCE_CHANGED:
        return FALSE;
      default:
        break;
    }

  self->uri_index++;
  self->retries = 0;
  g_debug ("Transfer %s: trying mirror %s", self->id, bt_transfer_get_current_uri (self));
  self->queued = TRUE;
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
  return TRUE;
}

/*
 * bt_transfer_attempt_done:
 * @error_status: %BT_ERROR_STATUS_NONE when the download completed and the
 *   file is in place
 * @transient: whether a retry may succeed
 * @retry_after_s: the server's Retry-After, 0 if none
 *
 * The retry policy: transient failures are retried with backoff up to
 * retry-limit times, waiting in paused-recoverable-error.
 */
void
bt_transfer_attempt_done (BtTransfer *self, BtErrorStatus error_status, const char *message,
                          gboolean transient, guint retry_after_s)
{
  guint limit = g_settings_get_uint (self->settings, "retry-limit");
  guint delay;

  if (error_status == BT_ERROR_STATUS_NONE)
    {
      bt_transfer_set_error (self, BT_ERROR_STATUS_NONE, NULL);
      bt_transfer_set_status (self, BT_STATUS_COMPLETED);
      return;
    }

  g_debug ("Transfer %s: attempt failed (%s): %s", self->id,
           bt_error_status_to_string (error_status), message);
  bt_transfer_checkpoint (self);

  if (transient && bt_transfer_waits_for_network (self))
    {
      /* Offline: wait for the network without spending a retry */
      bt_transfer_set_error (self, error_status, message);
      bt_transfer_set_status (self, BT_STATUS_PAUSED_NO_NETWORK);
      self->queued = TRUE;
      g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
      return;
    }

  if (!transient || self->retries >= limit)
    {
      if (try_next_mirror (self, error_status))
        return;
      fail (self, error_status, message);
      return;
    }

  self->retries++;
  delay = retry_after_s > 0 ? CLAMP (retry_after_s, 1, 3600) : backoff_seconds (self->retries);
  bt_transfer_set_error (self, error_status, message);
  bt_transfer_set_status (self, BT_STATUS_PAUSED_RECOVERABLE_ERROR);
  /* Not g_timeout_add_seconds(): its coalescing may fire early */
  self->retry_source = g_timeout_add (delay * 1000, on_retry_timeout, self);
}

void
bt_transfer_run (BtTransfer *self, SoupSession *session)
{
  g_return_if_fail (self->job == NULL);

  self->queued = FALSE;
  g_clear_handle_id (&self->retry_source, g_source_remove);
  bt_transfer_set_status (self, BT_STATUS_RUNNING);
  if (self->kind == BT_KIND_UPLOAD)
    self->job = bt_upload_job_start (self, session, self->settings);
  else if (g_str_has_prefix (bt_transfer_get_current_uri (self), "ftp"))
    self->job = bt_ftp_job_start (self, self->settings);
  else
    self->job = bt_download_job_start (self, session, self->settings);
}

static void
stop (BtTransfer *self)
{
  if (self->job != NULL)
    bt_job_stop (self->job);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  self->queued = FALSE;
}

/* ---- Methods ------------------------------------------------------------ */

static gboolean
check_not_finished (BtTransfer *self, GError **error)
{
  if (bt_status_is_finished (self->status))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_STATE, "The transfer has already ended (%s)",
                   bt_status_to_string (self->status));
      return FALSE;
    }
  return TRUE;
}

static gboolean
handle_start (BtTransfer *self, GError **error)
{
  if (!check_not_finished (self, error))
    return FALSE;
  if (self->status != BT_STATUS_IDLE)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_STATE,
                   "Only an idle transfer can be started; use Resume() for a paused one");
      return FALSE;
    }
  if (!self->queued)
    {
      self->queued = TRUE;
      bt_transfer_save (self);
      g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
    }
  return TRUE;
}

static gboolean
handle_pause (BtTransfer *self, GError **error)
{
  if (!check_not_finished (self, error))
    return FALSE;
  if (self->status == BT_STATUS_PAUSED_BY_APPLICATION)
    return TRUE;
  stop (self);
  bt_transfer_checkpoint (self);
  bt_transfer_set_status (self, BT_STATUS_PAUSED_BY_APPLICATION);
  return TRUE;
}

static gboolean
handle_resume (BtTransfer *self, GError **error)
{
  gboolean resumable_error
      = self->status == BT_STATUS_ERROR && self->error_status == BT_ERROR_STATUS_DISK_FULL;

  if (!resumable_error && !check_not_finished (self, error))
    return FALSE;
  if (self->status == BT_STATUS_RUNNING || (self->status == BT_STATUS_IDLE && self->queued))
    return TRUE;

  stop (self);
  self->retries = 0;
  self->uri_index = 0;
  bt_transfer_set_error (self, BT_ERROR_STATUS_NONE, NULL);
  self->completed_time = 0;
  self->queued = TRUE;
  /* Waits in the queue as "idle" until the scheduler gives it a slot */
  bt_transfer_set_status (self, BT_STATUS_IDLE);
  return TRUE;
}

static gboolean
handle_cancel (BtTransfer *self, GError **error)
{
  if (!check_not_finished (self, error))
    return FALSE;
  stop (self);
  bt_destination_discard (self->destination);
  bt_transfer_reset_checkpoint (self, 0);
  bt_transfer_set_status (self, BT_STATUS_CANCELED);
  return TRUE;
}

static gboolean
handle_remove (BtTransfer *self, GError **error)
{
  if (!bt_status_is_finished (self->status))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_STATE,
                           "Only a finished transfer can be removed; cancel it first");
      return FALSE;
    }
  g_signal_emit (self, signals[SIGNAL_REMOVED], 0);
  return TRUE;
}

static gboolean
handle_set_priority (BtTransfer *self, const char *value, GError **error)
{
  BtPriority priority;

  if (!bt_priority_from_string (value, &priority))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Invalid priority “%s”", value);
      return FALSE;
    }
  if (priority != self->priority)
    {
      self->priority = priority;
      bt_transfer_changed (self, "Priority");
      bt_transfer_save (self);
      g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
    }
  return TRUE;
}

static gboolean
handle_set_cost_policy (BtTransfer *self, const char *value, GError **error)
{
  BtCostPolicy policy;

  if (!bt_cost_policy_from_string (value, &policy))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Invalid cost policy “%s”", value);
      return FALSE;
    }
  if (policy != self->cost_policy)
    {
      self->cost_policy = policy;
      bt_transfer_changed (self, "CostPolicy");
      bt_transfer_save (self);
      g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
    }
  return TRUE;
}

static gboolean
handle_set_requested_uri (BtTransfer *self, const char *uri, GError **error)
{
  g_autoptr (GUri) parsed = NULL;
  BtScheme scheme;

  if (self->status == BT_STATUS_RUNNING || self->status == BT_STATUS_COMPLETED
      || self->status == BT_STATUS_CANCELED)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_STATE,
                           "The URI can be changed only while the transfer is paused or failed");
      return FALSE;
    }
  parsed = bt_validate_uri (uri, &scheme, error);
  if (parsed == NULL)
    return FALSE;
  if (self->kind == BT_KIND_UPLOAD && scheme != BT_SCHEME_HTTP && scheme != BT_SCHEME_HTTPS)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_UNSUPPORTED_SCHEME,
                           "Uploads go over http or https only");
      return FALSE;
    }
  g_free (self->uri);
  self->uri = g_uri_to_string (parsed);
  self->uri_index = 0;
  bt_transfer_changed (self, "Uri");
  bt_transfer_save (self);
  return TRUE;
}

static void
handle_open_result (BtTransfer *self, GDBusMethodInvocation *invocation)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUnixFDList) fd_list = NULL;
  int fd;

  if (self->status == BT_STATUS_CANCELED
      || (self->status == BT_STATUS_ERROR && self->error_status != BT_ERROR_STATUS_DISK_FULL))
    {
      g_dbus_method_invocation_return_error (invocation, BT_ERROR, BT_ERROR_INVALID_STATE,
                                             "The transfer has no data: it ended in %s",
                                             bt_status_to_string (self->status));
      return;
    }

  fd = bt_destination_open_result (self->destination, self->status == BT_STATUS_COMPLETED, &error);
  if (fd < 0)
    {
      bt_invocation_return_error (invocation, error);
      return;
    }
  fd_list = g_unix_fd_list_new_from_array (&fd, 1);
  g_dbus_method_invocation_return_value_with_unix_fd_list (invocation, g_variant_new ("(h)", 0),
                                                           fd_list);
}

static gboolean
check_owner (BtTransfer *self, const char *sender, GError **error)
{
  if (g_strcmp0 (bt_callers_lookup (self->callers, sender), self->app_id) != 0)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                           "This transfer belongs to another application");
      return FALSE;
    }
  return TRUE;
}

static void
handle_properties (BtTransfer *self, GDBusMethodInvocation *invocation, const char *method_name,
                   GVariant *parameters)
{
  const GDBusInterfaceInfo *info = &org_freedesktop_background_transfer_transfer_interface;
  const char *iface, *name;

  if (g_str_equal (method_name, "GetAll"))
    {
      GVariantBuilder all;

      g_variant_get (parameters, "(&s)", &iface);
      g_variant_builder_init (&all, G_VARIANT_TYPE_VARDICT);
      if (g_str_equal (iface, BT_TRANSFER_INTERFACE))
        {
          for (guint i = 0; info->properties[i] != NULL; i++)
            g_variant_builder_add (&all, "{sv}", info->properties[i]->name,
                                   get_property_value (self, info->properties[i]->name));
        }
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a{sv})", &all));
      return;
    }

  if (g_str_equal (method_name, "Get"))
    {
      GVariant *value = NULL;

      g_variant_get (parameters, "(&s&s)", &iface, &name);
      if (g_str_equal (iface, BT_TRANSFER_INTERFACE))
        value = get_property_value (self, name);
      if (value == NULL)
        g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                               "No such property “%s”", name);
      else
        g_dbus_method_invocation_return_value (invocation, g_variant_new ("(v)", value));
      return;
    }

  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_PROPERTY_READ_ONLY,
                                         "The properties of a transfer are read-only");
}

static void
dispatch (BtTransfer *self, GDBusMethodInvocation *invocation)
{
  g_autoptr (GError) error = NULL;
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  const char *method_name = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  gboolean ok;

  if (!check_owner (self, sender, &error))
    {
      bt_invocation_return_error (invocation, error);
      return;
    }

  if (g_str_equal (g_dbus_method_invocation_get_interface_name (invocation),
                   "org.freedesktop.DBus.Properties"))
    {
      handle_properties (self, invocation, method_name, parameters);
      return;
    }

  if (g_str_equal (method_name, "Start"))
    ok = handle_start (self, &error);
  else if (g_str_equal (method_name, "Pause"))
    ok = handle_pause (self, &error);
  else if (g_str_equal (method_name, "Resume"))
    ok = handle_resume (self, &error);
  else if (g_str_equal (method_name, "Cancel"))
    ok = handle_cancel (self, &error);
  else if (g_str_equal (method_name, "Remove"))
    ok = handle_remove (self, &error);
  else if (g_str_equal (method_name, "SetPriority"))
    {
      const char *value;

      g_variant_get (parameters, "(&s)", &value);
      ok = handle_set_priority (self, value, &error);
    }
  else if (g_str_equal (method_name, "SetCostPolicy"))
    {
      const char *value;

      g_variant_get (parameters, "(&s)", &value);
      ok = handle_set_cost_policy (self, value, &error);
    }
  else if (g_str_equal (method_name, "SetRequestedUri"))
    {
      const char *value;

      g_variant_get (parameters, "(&s)", &value);
      ok = handle_set_requested_uri (self, value, &error);
    }
  else if (g_str_equal (method_name, "OpenResult") && self->kind == BT_KIND_DOWNLOAD)
    {
      handle_open_result (self, invocation);
      return;
    }
  else if (g_str_equal (method_name, "OpenResponse") && self->kind == BT_KIND_UPLOAD)
    {
      handle_open_result (self, invocation);
      return;
    }
  else if (g_str_equal (method_name, "OpenResponse") || g_str_equal (method_name, "OpenResult"))
    {
      g_set_error (&error, BT_ERROR, BT_ERROR_INVALID_STATE, "%s",
                   self->kind == BT_KIND_UPLOAD
                       ? "An upload has no downloaded data; use OpenResponse()"
                       : "A download has no response body to open; use OpenResult()");
      ok = FALSE;
    }
  else
    {
      g_set_error (&error, BT_ERROR, BT_ERROR_NOT_SUPPORTED, "Unknown method %s", method_name);
      ok = FALSE;
    }

  if (!ok)
    bt_invocation_return_error (invocation, error);
  else if (self->store != NULL)
    bt_store_when_durable (self->store, invocation, NULL, NULL);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

typedef struct
{
  BtTransfer *transfer;
  GDBusMethodInvocation *invocation;
} Call;

static void
on_caller_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;
  g_autoptr (GError) error = NULL;

  if (!bt_callers_resolve_finish (BT_CALLERS (source), result, &error))
    bt_invocation_return_error (call->invocation, error);
  else if (!call->transfer->exported)
    g_dbus_method_invocation_return_error (call->invocation, G_DBUS_ERROR,
                                           G_DBUS_ERROR_UNKNOWN_OBJECT, "The transfer is gone");
  else
    dispatch (call->transfer, call->invocation);
  g_object_unref (call->transfer);
  g_free (call);
}

/* Every call, property reads included (get_property is NULL in the
 * vtable, so GDBus routes them here), waits for the caller's identity and
 * is checked against the owner. */
static void
method_call (GDBusConnection *connection, const char *sender, const char *object_path,
             const char *interface_name, const char *method_name, GVariant *parameters,
             GDBusMethodInvocation *invocation, gpointer user_data)
{
  BtTransfer *self = user_data;
  Call *call = g_new0 (Call, 1);

  call->transfer = g_object_ref (self);
  call->invocation = invocation;
  bt_callers_resolve_async (self->callers, sender, NULL, on_caller_resolved, call);
}

static const GDBusInterfaceVTable transfer_vtable = {
  method_call,
  NULL,
  NULL,
  { 0 },
};

/*
 * bt_transfer_export:
 *
 * Puts the transfer on the bus. The manager serves every transfer object
 * through one subtree (see bt_transfer_vtable()), so that the service
 * lists to each caller only its own transfers.
 */
gboolean
bt_transfer_export (BtTransfer *self, GDBusConnection *connection, BtCallers *callers,
                    GError **error)
{
  g_return_val_if_fail (!self->exported, FALSE);

  self->exported = TRUE;
  self->connection = g_object_ref (connection);
  self->callers = g_object_ref (callers);
  return TRUE;
}

void
bt_transfer_unexport (BtTransfer *self)
{
  if (self->exported)
    {
      flush_changes (self);
      self->exported = FALSE;
    }
  g_clear_handle_id (&self->flush_source, g_source_remove);
  g_clear_object (&self->connection);
  g_clear_object (&self->callers);
}

/* The vtable of a transfer object; its user data is the BtTransfer */
const GDBusInterfaceVTable *
bt_transfer_vtable (void)
{
  return &transfer_vtable;
}
