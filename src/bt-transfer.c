/* bt-transfer.c: one transfer, its state, and its object on the bus
 *
 * The core of the service: what a transfer is (its private struct), its
 * record in the store (one key table, bt-record.c), its state machine
 * (start, pause, resume, cancel, retries with backoff, mirrors), and its
 * object on the bus: every call and property read is checked against the
 * owner (bt-bus-object.c) and changes go unicast to the owner
 * (bt-changes.c). The bytes are moved by an attempt (bt-attempt.c) with
 * the engine for the transfer's kind and scheme (bt-engine.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "bt-settings.h"
#include "bt-attempt.h"
#include "bt-bus-object.h"
#include "bt-changes.h"
#include "bt-dbus.h"
#include "bt-names.h"
#include "bt-options.h"
#include "bt-record.h"
#include "bt-error.h"
#include "bt-resume.h"
#include "bt-segments.h"
#include "bt-transfer.h"
#include "bt-validate.h"

struct _BtTransfer
{
  GObject parent_instance;

  /* What was asked */
  char *id;
  char *object_path;
  char *app_id;
  guint64 seq; /* creation order */
  BtKind kind;
  char *uri;
  char *method;
  GPtrArray *headers;         /* alternating name, value; never a secret one */
  BtSecrets *secrets;         /* credentials and secret headers: memory and Secret Service only */
  gboolean has_secrets;       /* the Secret Service holds some */
  gboolean secrets_pending;   /* being read back after a restart: not runnable yet */
  gboolean documents_pending; /* its documents being checked after a restart: likewise */
  BtPriority priority;
  BtCostPolicy cost_policy;
  char *group;
  char *tag;
  gboolean fail_if_changed;
  BtRateLimiter *rate_limiter; /* option max-rate, or NULL */
  char *completion_group;      /* id of the completion group it belongs to, or NULL */
  GVariant *notify;            /* desktop notification texts, or NULL */
  gboolean notified;
  BtDigest *checksum; /* the app's, or NULL */
  GStrv mirrors;      /* further URIs of the same resource */
  gint64 created_time;
  BtDestination *destination; /* downloads: the data; uploads: the server's reply */
  BtSource *source;           /* uploads */
  gboolean tus;               /* protocol "tus" */
  gboolean response_in_state; /* the reply is kept by the service, size-bounded */
  guint n_connections;        /* option connections; 0: connections-per-download */
  gboolean random_access;     /* RequestRange is honoured */

  /* Where it stands */
  BtStatus status;
  gboolean queued; /* waits for a free slot */
  char *actual_uri;
  guint64 bytes_received;        /* in all: the total of ranges */
  BtRangeSet *ranges;            /* the data on disk: [0, bytes_received) unless segmented */
  guint64 checkpoint_bytes;      /* written and recorded in the store */
  guint64 synced_bytes;          /* of which flushed to the disk (a prefix) */
  BtRangeSet *checkpoint_ranges; /* segmented: what the checkpoint records; NULL otherwise */
  BtRangeSet *synced_ranges;     /* segmented: of which flushed */
  BtRangeSet *wanted;            /* asked for first (RequestRange), or NULL */
  gboolean recovered_changes;    /* restoring it changed it: save it again */
  gboolean committing;           /* renaming the data into place */
  gboolean in_place;             /* renamed: no way back (bt-commit.c) */
  gboolean recorded;             /* its record is on disk: since its creation, or read back */
  gint64 completion_recorded;    /* the completed_time the store holds, while reported so soon */
  gboolean place_unsynced;       /* so recorded before its directory was flushed (bt-commit.c) */
  gboolean sandboxed;            /* created by a sandboxed app */
  gboolean via_portal;           /* created through the portal backend */
  guint checkpoint_generation;   /* bumped whenever the data starts over */
  gboolean checkpoint_in_flight;
  guint64 total_bytes; /* BT_SIZE_UNKNOWN when unknown */
  guint64 bytes_sent;
  guint64 total_to_send; /* BT_SIZE_UNKNOWN for a stream */
  char *tus_url;         /* the upload's URL on a tus server, once created */
  guint http_status;
  GPtrArray *response_headers; /* alternating name, value */
  char *etag;
  char *last_modified;
  BtDigest *server_digest; /* RFC 9530 digest of the representation, or NULL */
  guint uri_index;         /* 0: uri, n: mirrors[n - 1] */
  gboolean is_resumable;
  guint64 rate;
  guint attempts;
  guint retries;
  BtErrorStatus error_status;
  char *error_message;
  gint64 completed_time;

  /* Where the current URI goes, for the scheduler: parsed once per URI */
  const char *host_of_uri; /* the URI string it was parsed from */
  char *host;
  guint connections;

  /* Running */
  BtAttempt *attempt;
  guint retry_source;

  GSettings *settings;
  BtStore *store;
  BtPolicy *policy;

  /* Read from the record, while it is restored */
  struct
  {
    char *path;
    GVariant *destination_fd; /* a caller's file, to open again */
    gboolean overwrite;
    guint64 part_dev, part_ino;
    GVariant *source;
    guint64 bytes;
    BtRangeSet *ranges; /* of a segmented download */
    BtRangeSet *synced_ranges;
    gboolean same_boot;
  } restore;

  /* On the bus */
  GDBusConnection *connection;
  BtCallers *callers;
  gboolean exported;
  BtChanges *changes;
  BtRangeSet *ranges_reported; /* the data RangesAdded told the app of */
  gboolean ranges_restarted;   /* …and must say that it started over from zero */
};

G_DEFINE_TYPE (BtTransfer, bt_transfer, G_TYPE_OBJECT)

enum
{
  SIGNAL_STATE_CHANGED,
  SIGNAL_REMOVED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

/* Announced at once; the other properties are counters, coalesced */
static const char *const immediate_properties[] = {
  "Status", "ErrorStatus", "ErrorMessage", "CompletedTime", "Priority", "CostPolicy", "Uri", NULL,
};

static GVariant *changed_value (gpointer object, const char *name);
static void emit_ranges_added (gpointer object, BtChanges *changes);
static GVariant *string_pairs (GPtrArray *pairs, gboolean hide_secrets);
static void bt_transfer_changed (BtTransfer *self, const char *property);

static void
bt_transfer_dispose (GObject *object)
{
  BtTransfer *self = BT_TRANSFER (object);

  if (self->attempt != NULL)
    bt_attempt_stop (self->attempt);
  g_clear_pointer (&self->attempt, bt_attempt_unref);
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
  g_clear_pointer (&self->changes, bt_changes_free);
  g_free (self->host);
  g_free (self->restore.path);
  g_clear_pointer (&self->restore.source, g_variant_unref);
  g_clear_pointer (&self->restore.destination_fd, g_variant_unref);
  g_clear_pointer (&self->restore.ranges, bt_range_set_free);
  g_clear_pointer (&self->restore.synced_ranges, bt_range_set_free);
  bt_range_set_free (self->ranges);
  bt_range_set_free (self->ranges_reported);
  g_clear_pointer (&self->checkpoint_ranges, bt_range_set_free);
  g_clear_pointer (&self->synced_ranges, bt_range_set_free);
  g_clear_pointer (&self->wanted, bt_range_set_free);

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
  self->ranges = bt_range_set_new ();
  self->ranges_reported = bt_range_set_new ();
  self->changes = bt_changes_new (BT_TRANSFER_INTERFACE, immediate_properties, changed_value, self);
  bt_changes_set_flush_func (self->changes, emit_ranges_added);
  self->total_bytes = BT_SIZE_UNKNOWN;
  self->method = g_strdup ("GET");
  self->priority = BT_PRIORITY_DEFAULT;
  self->cost_policy = BT_COST_POLICY_DEFAULT;
  self->is_resumable = TRUE;
}

/* ---- Creation ---------------------------------------------------------- */

/* The options downloads and uploads share */
static gboolean
parse_common (BtTransfer *self, GVariantDict *options, GError **error)
{
  g_autoptr (GVariant) headers = NULL;
  g_autoptr (GVariant) notify = NULL;
  const char *str;
  guint64 max_rate = 0;
  gboolean start = TRUE;

  if (g_variant_dict_lookup (options, "priority", "&s", &str)
      && !bt_priority_from_string (str, &self->priority))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Invalid priority “%s”", str);
      return FALSE;
    }
  if (g_variant_dict_lookup (options, "cost-policy", "&s", &str)
      && !bt_cost_policy_from_string (str, &self->cost_policy))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Invalid cost policy “%s”", str);
      return FALSE;
    }
  if (g_variant_dict_lookup (options, "group", "&s", &str))
    {
      if (strlen (str) > 255 || !g_utf8_validate (str, -1, NULL))
        {
          g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Invalid group name");
          return FALSE;
        }
      self->group = g_strdup (str);
    }
  if (g_variant_dict_lookup (options, "tag", "&s", &str))
    {
      if (strlen (str) > 4096)
        {
          g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                               "The tag is longer than 4096 bytes");
          return FALSE;
        }
      self->tag = g_strdup (str);
    }
  headers = g_variant_dict_lookup_value (options, "headers", G_VARIANT_TYPE ("a(ss)"));
  if (headers != NULL
      && !bt_options_parse_headers (headers, self->headers, bt_secrets_get_headers (self->secrets),
                                    error))
    return FALSE;
  for (guint i = 0; i < 2; i++)
    {
      const char *option = i == 0 ? "server-credential" : "proxy-credential";
      g_autoptr (GVariant) credential
          = g_variant_dict_lookup_value (options, option, G_VARIANT_TYPE_VARDICT);
      g_autofree char *username = NULL;
      g_autofree char *password = NULL;

      if (credential == NULL)
        continue;
      if (!bt_options_parse_credential (credential, option, &username, &password, error))
        return FALSE;
      bt_secrets_set_credential (self->secrets, i == 1, username, password);
      memset (password, 0, strlen (password));
    }
  self->has_secrets = !bt_secrets_is_empty (self->secrets);
  g_variant_dict_lookup (options, "start", "b", &start);
  self->queued = start;
  notify = g_variant_dict_lookup_value (options, "notify", G_VARIANT_TYPE_VARDICT);
  if (notify != NULL)
    {
      static const char *const keys[]
          = { "success-title", "success-body", "failure-title", "failure-body", NULL };

      if (!bt_options_check_string_dict (notify, keys, "notify", error))
        return FALSE;
      self->notify = g_steal_pointer (&notify); /* a full reference already */
    }
  if (g_variant_dict_lookup (options, "max-rate", "t", &max_rate) && max_rate > 0)
    self->rate_limiter = bt_rate_limiter_new (max_rate);
  if (g_variant_dict_lookup (options, "completion-group", "&o", &str))
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
  /* Its partial file: bt_destination_create_async() (bt-manager.c) */
  return bt_destination_new_recovered (path, overwrite);
}

/*
 * bt_transfer_new_download:
 *
 * Checks every option. The partial file is created afterwards
 * (bt_destination_create_async()): nothing is created on disk for a call
 * that is refused.
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

  /* Looked up many times: once into a table (GVariantDict) rather than
   * walked each time */
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (options);

  if (!bt_options_check (options, BT_KIND_DOWNLOAD, error))
    return NULL;

  parsed = bt_validate_uri (uri, &scheme, error);
  if (parsed == NULL)
    return NULL;
  self = transfer_new (id, app_id, seq, BT_KIND_DOWNLOAD, parsed, sandboxed);
  if (!parse_common (self, &dict, error))
    return NULL;

  if (g_variant_dict_lookup (&dict, "method", "&s", &str))
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
  if (g_variant_dict_lookup (&dict, "if-changed", "&s", &str))
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
  if (g_variant_dict_lookup (&dict, "checksum", "&s", &str))
    {
      self->checksum = bt_digest_parse_option (str, error);
      if (self->checksum == NULL)
        return NULL;
    }
  mirrors = g_variant_dict_lookup_value (&dict, "mirrors", G_VARIANT_TYPE_STRING_ARRAY);
  if (mirrors != NULL && (self->mirrors = bt_options_parse_mirrors (mirrors, error)) == NULL)
    return NULL;
  if (g_variant_dict_lookup (&dict, BT_OPTION_CONNECTIONS, "u", &self->n_connections)
      && (self->n_connections < 1 || self->n_connections > BT_MAX_CONNECTIONS))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "Invalid connections %u: use 1 to %u", self->n_connections, BT_MAX_CONNECTIONS);
      return NULL;
    }
  g_variant_dict_lookup (&dict, BT_OPTION_RANDOM_ACCESS, "b", &self->random_access);

  g_variant_dict_lookup (&dict, "overwrite", "b", &overwrite);
  g_variant_dict_lookup (&dict, "destination", "&s", &destination);
  g_variant_dict_lookup (&dict, "destination-fd", "h", &fd_index);
  if ((destination != NULL) == (fd_index != -1))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "Give exactly one of the options destination and destination-fd");
      return NULL;
    }

  if (destination != NULL)
    self->destination
        = destination_for_path (destination, overwrite, sandboxed, "destination", error);
  else
    self->destination = destination_for_fd (fd_list, fd_index, "destination-fd", error);
  if (self->destination == NULL)
    return NULL;

  return g_steal_pointer (&self);
}

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

  /* Looked up many times: once into a table (GVariantDict) rather than
   * walked each time */
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (options);

  if (!bt_options_check (options, BT_KIND_UPLOAD, error))
    return NULL;
  response = g_variant_dict_lookup_value (&dict, "response-destination", NULL);
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
  if (!parse_common (self, &dict, error))
    return NULL;

  if (g_variant_dict_lookup (&dict, "method", "&s", &str))
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
  if (g_variant_dict_lookup (&dict, "protocol", "&s", &str))
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

  n_sources = g_variant_dict_lookup (&dict, "source", "&s", &source);
  n_sources += g_variant_dict_lookup (&dict, "source-fd", "h", &fd_index);
  parts = g_variant_dict_lookup_value (&dict, "parts", G_VARIANT_TYPE ("aa{sv}"));
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

/* The record (bt-record.c): one table for writing and reading. Secret
 * header values and credentials are never in it: they live in
 * self->secrets, which only the Secret Service stores (bt-secrets.c). */

static GVariant *
write_checksum (gconstpointer object)
{
  const BtTransfer *self = object;

  return self->checksum != NULL ? g_variant_new_take_string (bt_digest_to_string (self->checksum))
                                : NULL;
}

static void
read_checksum (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    self->checksum = bt_digest_parse_option (g_variant_get_string (value, NULL), NULL);
}

static GVariant *
write_server_digest (gconstpointer object)
{
  const BtTransfer *self = object;

  return self->server_digest != NULL
             ? g_variant_new_take_string (bt_digest_to_string (self->server_digest))
             : NULL;
}

static void
read_server_digest (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    self->server_digest = bt_digest_parse_option (g_variant_get_string (value, NULL), NULL);
}

static GVariant *
write_server_digest_origin (gconstpointer object)
{
  const BtTransfer *self = object;

  return self->server_digest != NULL && bt_digest_get_origin (self->server_digest) != NULL
             ? g_variant_new_string (bt_digest_get_origin (self->server_digest))
             : NULL;
}

static void
read_server_digest_origin (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  /* Read after server-digest (the table's order) */
  if (self->server_digest != NULL && value != NULL
      && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      bt_digest_set_origin (self->server_digest, g_variant_get_string (value, NULL));
    }
}

static GVariant *
write_destination (gconstpointer object)
{
  const BtTransfer *self = object;
  const char *path = bt_destination_get_path (self->destination);

  return path != NULL ? g_variant_new_string (path) : NULL;
}

static void
read_destination (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    self->restore.path = g_variant_dup_string (value, NULL);
}

/* The partial file's device and inode, as created (bt-destination.c) */
static GVariant *
write_part_identity (gconstpointer object)
{
  const BtTransfer *self = object;
  guint64 dev, ino;

  if (self->destination == NULL
      || !bt_destination_get_part_identity (self->destination, &dev, &ino))
    return NULL;
  return g_variant_new ("(tt)", dev, ino);
}

static void
read_part_identity (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE ("(tt)")))
    g_variant_get (value, "(tt)", &self->restore.part_dev, &self->restore.part_ino);
}

static GVariant *
write_destination_fd (gconstpointer object)
{
  const BtTransfer *self = object;

  return self->destination != NULL ? bt_destination_serialize_fd (self->destination) : NULL;
}

static void
read_destination_fd (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_VARDICT))
    self->restore.destination_fd = g_variant_ref (value);
}

static GVariant *
write_overwrite (gconstpointer object)
{
  const BtTransfer *self = object;

  return g_variant_new_boolean (bt_destination_get_overwrite (self->destination));
}

static void
read_overwrite (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    self->restore.overwrite = g_variant_get_boolean (value);
}

static GVariant *
write_source (gconstpointer object)
{
  const BtTransfer *self = object;

  return self->source != NULL ? bt_source_serialize (self->source) : NULL;
}

static void
read_source (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_VARDICT))
    self->restore.source = g_variant_ref (value);
}

/* Progress is the last checkpoint, not what is merely written. Of a
 * segmented download, the data from the start without a gap: what a
 * reader of "bytes" alone may trust; the rest is in "ranges". */
static GVariant *
write_bytes (gconstpointer object)
{
  const BtTransfer *self = object;

  if (self->status == BT_STATUS_COMPLETED)
    return g_variant_new_uint64 (self->bytes_received);
  if (self->checkpoint_ranges != NULL)
    return g_variant_new_uint64 (bt_range_set_get_prefix (self->checkpoint_ranges));
  return g_variant_new_uint64 (self->checkpoint_bytes);
}

/* The checkpoint of a segmented download: the ranges on disk, a(tt) */
static GVariant *
write_ranges (gconstpointer object)
{
  const BtTransfer *self = object;

  if (self->checkpoint_ranges == NULL || self->status == BT_STATUS_COMPLETED)
    return NULL;
  return bt_range_set_to_variant (self->checkpoint_ranges);
}

static void
read_ranges (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  /* Absent from older records and from downloads written in order */
  self->restore.ranges = bt_range_set_new_from_variant (value);
}

static GVariant *
write_synced_ranges (gconstpointer object)
{
  const BtTransfer *self = object;

  if (self->checkpoint_ranges == NULL || self->synced_ranges == NULL
      || self->status == BT_STATUS_COMPLETED)
    return NULL;
  return bt_range_set_to_variant (self->synced_ranges);
}

static void
read_synced_ranges (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  self->restore.synced_ranges = bt_range_set_new_from_variant (value);
}

static void
read_bytes (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    self->restore.bytes = g_variant_get_uint64 (value);
}

static GVariant *
write_boot_id (gconstpointer object)
{
  return g_variant_new_string (bt_boot_id ());
}

static void
read_boot_id (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  self->restore.same_boot = value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
                            && g_strcmp0 (g_variant_get_string (value, NULL), bt_boot_id ()) == 0;
}

/* Cookies and authentication answers stay in memory only */
static GVariant *
write_response_headers (gconstpointer object)
{
  const BtTransfer *self = object;

  return string_pairs (self->response_headers, TRUE);
}

static void
read_response_headers (gpointer object, GVariant *value)
{
  BtTransfer *self = object;
  GVariantIter iter;
  const char *name, *v;

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE ("a(ss)")))
    return;
  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &v))
    {
      g_ptr_array_add (self->response_headers, g_strdup (name));
      g_ptr_array_add (self->response_headers, g_strdup (v));
    }
}

static GVariant *
write_max_rate (gconstpointer object)
{
  const BtTransfer *self = object;

  return self->rate_limiter != NULL
             ? g_variant_new_uint64 (bt_rate_limiter_get_rate (self->rate_limiter))
             : NULL;
}

static void
read_max_rate (gpointer object, GVariant *value)
{
  BtTransfer *self = object;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64)
      && g_variant_get_uint64 (value) > 0)
    self->rate_limiter = bt_rate_limiter_new (g_variant_get_uint64 (value));
}

G_STATIC_ASSERT (sizeof (BtStatus) == sizeof (int) && sizeof (BtKind) == sizeof (int)
                 && sizeof (BtErrorStatus) == sizeof (int) && sizeof (BtPriority) == sizeof (int)
                 && sizeof (BtCostPolicy) == sizeof (int));

#define PLAIN(key, type, member)                                                                   \
  {                                                                                                \
    key, BT_FIELD_##type, G_STRUCT_OFFSET (BtTransfer, member), NULL, 0, FALSE, NULL, NULL         \
  }
#define ENUM(key, member, names, required)                                                         \
  {                                                                                                \
    key, BT_FIELD_ENUM, G_STRUCT_OFFSET (BtTransfer, member), (const char *const *) names,         \
        G_N_ELEMENTS (names), required, NULL, NULL                                                 \
  }
#define COMPUTED(key, name)                                                                        \
  {                                                                                                \
    key, BT_FIELD_CUSTOM, 0, NULL, 0, FALSE, write_##name, read_##name                             \
  }

static const BtRecordField record_fields[] = {
  /* What was asked */
  ENUM ("kind", kind, bt_kind_names, TRUE),
  PLAIN ("uri", STRING, uri),
  PLAIN ("method", STRING, method),
  PLAIN ("headers", PAIRS, headers),
  ENUM ("priority", priority, bt_priority_names, FALSE),
  ENUM ("cost-policy", cost_policy, bt_cost_policy_names, FALSE),
  PLAIN ("group", STRING, group),
  PLAIN ("tag", STRING, tag),
  PLAIN ("fail-if-changed", BOOLEAN, fail_if_changed),
  COMPUTED ("checksum", checksum),
  PLAIN ("mirrors", STRV, mirrors),
  PLAIN ("created-time", INT64, created_time),
  COMPUTED ("destination", destination),
  COMPUTED ("destination-fd", destination_fd),
  COMPUTED ("part-identity", part_identity),
  COMPUTED ("overwrite", overwrite),
  COMPUTED ("source", source),
  PLAIN ("tus", BOOLEAN, tus),
  PLAIN ("response-in-state", BOOLEAN, response_in_state),
  PLAIN ("total-to-send", UINT64, total_to_send),
  PLAIN ("sandboxed", BOOLEAN, sandboxed),
  PLAIN ("portal", BOOLEAN, via_portal),
  PLAIN ("has-secrets", BOOLEAN, has_secrets),
  PLAIN ("completion-group", STRING, completion_group),
  COMPUTED ("max-rate", max_rate),
  PLAIN ("connections", UINT32, n_connections),
  PLAIN ("random-access", BOOLEAN, random_access),
  PLAIN ("notify", VARDICT, notify),
  /* Where it stands */
  ENUM ("status", status, bt_status_names, TRUE),
  PLAIN ("queued", BOOLEAN, queued),
  PLAIN ("actual-uri", STRING, actual_uri),
  COMPUTED ("bytes", bytes),
  COMPUTED ("ranges", ranges),
  PLAIN ("synced-bytes", UINT64, synced_bytes),
  COMPUTED ("synced-ranges", synced_ranges),
  COMPUTED ("boot-id", boot_id),
  PLAIN ("committing", BOOLEAN, committing),
  PLAIN ("place-unsynced", BOOLEAN, place_unsynced),
  PLAIN ("total", UINT64, total_bytes),
  PLAIN ("tus-url", STRING, tus_url),
  PLAIN ("http-status", UINT32, http_status),
  COMPUTED ("response-headers", response_headers),
  PLAIN ("etag", STRING, etag),
  PLAIN ("last-modified", STRING, last_modified),
  COMPUTED ("server-digest", server_digest),
  COMPUTED ("server-digest-origin", server_digest_origin),
  PLAIN ("uri-index", UINT32, uri_index),
  PLAIN ("is-resumable", BOOLEAN, is_resumable),
  PLAIN ("attempts", UINT32, attempts),
  PLAIN ("retries", UINT32, retries),
  ENUM ("error-status", error_status, bt_error_status_names, FALSE),
  PLAIN ("error-message", STRING, error_message),
  PLAIN ("completed-time", INT64, completed_time),
  PLAIN ("notified", BOOLEAN, notified),
};

#undef PLAIN
#undef ENUM
#undef COMPUTED

/*
 * bt_transfer_serialize:
 *
 * Returns: (transfer floating): the record of the transfer for the store
 */
GVariant *
bt_transfer_serialize (BtTransfer *self)
{
  GVariant *record;
  BtStatus status = self->status;
  gboolean queued = self->queued;
  gboolean committing = self->committing;
  BtErrorStatus error_status = self->error_status;
  char *error_message = self->error_message;
  gint64 completed_time = self->completed_time;

  /* Recorded as completed (bt_transfer_record_completion()), reported so
   * once that is committed: every record written meanwhile says so too */
  if (self->completion_recorded != 0 && !bt_status_is_finished (status))
    {
      self->status = BT_STATUS_COMPLETED;
      self->queued = FALSE;
      self->committing = FALSE;
      self->error_status = BT_ERROR_STATUS_NONE;
      self->error_message = NULL;
      self->completed_time = self->completion_recorded;
    }
  record = bt_record_serialize (record_fields, G_N_ELEMENTS (record_fields), self);
  self->status = status;
  self->queued = queued;
  self->committing = committing;
  self->error_status = error_status;
  self->error_message = error_message;
  self->completed_time = completed_time;
  return record;
}

/* Where the data (or the reply) goes, found again: a path, or the
 * caller's file opened again if it is still the same one (docs/contract.md
 * "Applications and isolation"). On failure a detached destination and
 * @error. */
static BtDestination *
restore_destination (BtTransfer *self, GError **error)
{
  BtDestination *destination;

  if (self->restore.path != NULL)
    {
      destination = bt_destination_new_recovered (self->restore.path, self->restore.overwrite);
      bt_destination_set_part_identity (destination, self->restore.part_dev,
                                        self->restore.part_ino);
      return destination;
    }
  if (bt_status_is_finished (self->status))
    return bt_destination_new_detached (); /* nothing more to write */
  if (self->restore.destination_fd == NULL)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_FAILED,
                           "The destination file descriptor was lost when the service stopped");
      return bt_destination_new_detached ();
    }
  destination = bt_destination_new_for_fd_record (self->restore.destination_fd, error);
  return destination != NULL ? destination : bt_destination_new_detached ();
}

/* The transfer cannot go on after a restart: it ends, saying why */
static void
fail_restored (BtTransfer *self, BtErrorStatus error_status, const char *message)
{
  g_warning ("Transfer %s cannot go on: %s", self->id, message);
  self->recovered_changes = TRUE;
  self->status = BT_STATUS_ERROR;
  self->queued = FALSE;
  self->error_status = error_status;
  g_free (self->error_message);
  self->error_message = g_strdup (message);
}

/* The data a download resumes from after a restart. Written in order:
 * the partial file re-validated against the checkpoint
 * (bt_destination_recover()). Written at offsets by a segmented
 * download: the ranges the checkpoint recorded (after a reboot, those it
 * had flushed), as far as the file goes; the file's length says nothing
 * of the holes in it. */
static guint64
recover_data (BtTransfer *self, guint64 bytes)
{
  const BtRangeSet *recorded
      = self->restore.same_boot ? self->restore.ranges : self->restore.synced_ranges;
  guint64 size = 0;

  if (self->restore.ranges == NULL)
    {
      bytes = bt_destination_recover (self->destination, bytes, self->restore.same_boot);
      bt_range_set_set_prefix (self->ranges, bytes);
      return bytes;
    }
  bt_range_set_clear (self->ranges);
  g_clear_pointer (&self->checkpoint_ranges, bt_range_set_free);
  g_clear_pointer (&self->synced_ranges, bt_range_set_free);
  self->checkpoint_ranges = bt_range_set_new ();
  self->synced_ranges = bt_range_set_new ();
  if (recorded != NULL && bt_destination_get_size (self->destination, &size))
    {
      bt_range_set_add_set (self->ranges, recorded);
      bt_range_set_clip (self->ranges, size);
      bt_range_set_add_set (self->checkpoint_ranges, self->ranges);
      if (self->restore.synced_ranges != NULL)
        bt_range_set_add_set (self->synced_ranges, self->restore.synced_ranges);
      bt_range_set_clip (self->synced_ranges, size);
    }
  self->synced_bytes = bt_range_set_get_prefix (self->synced_ranges);
  return bt_range_set_get_total (self->ranges);
}

/* Without a notification: a transfer being restored */
static void
set_received_prefix (BtTransfer *self, guint64 bytes)
{
  self->bytes_received = self->checkpoint_bytes = bytes;
  bt_range_set_set_prefix (self->ranges, bytes);
}

/* An unfinished plain upload starts again from zero; a tus upload asks the
 * server where it stands. The reply is fetched again either way. */
static BtTransfer *
recover_upload (BtTransfer *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) destination_error = NULL;

  self->destination = restore_destination (self, &destination_error);
  if (self->restore.source != NULL)
    self->source = bt_source_new_from_record (self->restore.source, &error);
  else
    g_set_error_literal (&error, BT_ERROR, BT_ERROR_FAILED, "The upload's source is unknown");

  if (bt_status_is_finished (self->status))
    {
      set_received_prefix (self, self->restore.bytes);
      self->bytes_sent = self->status == BT_STATUS_COMPLETED ? self->total_to_send : 0;
      /* The server took it, whatever became of the reply's file */
      self->recovered_changes = self->place_unsynced;
      self->place_unsynced = FALSE;
      return self;
    }
  if (self->source == NULL)
    {
      fail_restored (self, BT_ERROR_STATUS_RESOURCE_CHANGED, error->message);
      return self;
    }
  if (destination_error != NULL)
    {
      fail_restored (self, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, destination_error->message);
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
  g_autoptr (GError) error = NULL;
  guint64 bytes;
  BtStatus recorded_status;
  gboolean recorded_queued;
  gboolean recorded_place_unsynced;

  self->id = g_strdup (id);
  self->object_path = g_strconcat (BT_TRANSFER_PATH_PREFIX, id, NULL);
  self->app_id = g_strdup (app_id);
  self->seq = seq;
  self->synced_bytes = G_MAXUINT64; /* records older than synced-bytes: all of it */
  self->recorded = TRUE;

  g_clear_pointer (&self->method, g_free);
  if (!bt_record_read (record_fields, G_N_ELEMENTS (record_fields), self, record, &error)
      || !g_variant_dict_contains (record, "status"))
    {
      g_warning ("Skipping the invalid record of transfer %s: %s", id,
                 error != NULL ? error->message : "no status");
      return NULL;
    }
  if (self->uri != NULL)
    valid_uri = bt_validate_uri (self->uri, NULL, NULL);
  if (valid_uri == NULL)
    {
      g_warning ("Skipping the invalid record of transfer %s: invalid URI", id);
      return NULL;
    }
  if (self->method == NULL)
    self->method = g_strdup (self->kind == BT_KIND_UPLOAD ? "POST" : "GET");
  if (self->mirrors == NULL || self->uri_index > g_strv_length (self->mirrors))
    self->uri_index = 0;
  /* Read back from the Secret Service before it may run */
  self->secrets_pending = self->has_secrets && !bt_status_is_finished (self->status);

  /* After a reboot, only the flushed part of the data counts */
  bytes = self->restore.bytes;
  if (!self->restore.same_boot)
    bytes = MIN (bytes, self->synced_bytes);

  if (self->kind == BT_KIND_UPLOAD)
    return recover_upload (g_steal_pointer (&self));

  {
    g_autoptr (GError) destination_error = NULL;

    self->destination = restore_destination (self, &destination_error);
    if (destination_error != NULL)
      {
        /* Nothing is written anywhere: the app's file is not there */
        fail_restored (self, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, destination_error->message);
        return g_steal_pointer (&self);
      }
    if (self->restore.path == NULL && bt_status_is_finished (self->status))
      {
        /* Into the app's file descriptor: what it received is the record's */
        if (self->status == BT_STATUS_COMPLETED)
          set_received_prefix (self, self->restore.bytes);
        return g_steal_pointer (&self);
      }
  }

  recorded_status = self->status;
  recorded_queued = self->queued;
  recorded_place_unsynced = self->place_unsynced;
  /* Recorded as completed while its data was being flushed and renamed
   * into place (bt-commit.c), the app not told yet: completed only if the
   * data is in place under its final name (the rename came after the
   * flush, and the directory's flush may not have kept it). Otherwise it
   * resumes from what was flushed, as after a power cut. */
  if (self->place_unsynced && self->status == BT_STATUS_COMPLETED
      && !bt_destination_is_in_place (self->destination, self->total_bytes))
    {
      g_message ("Transfer %s: its data was not in place when the service stopped; it resumes",
                 self->id);
      self->status = BT_STATUS_IDLE;
      self->queued = TRUE;
      self->completed_time = 0;
      self->restore.same_boot = FALSE;
      bytes = MIN (bytes, self->synced_bytes);
    }
  self->place_unsynced = FALSE;
  /* The file in place is ours if it is the partial file we created (its
   * identity is recorded), or, in records older than that, if the rename
   * was under way */
  if ((self->committing || self->restore.part_ino != 0) && !bt_status_is_finished (self->status)
      && bt_destination_was_committed (self->destination, self->total_bytes))
    {
      /* Stopped between the rename into place and its record */
      self->status = BT_STATUS_COMPLETED;
      self->queued = FALSE;
      self->completed_time = g_get_real_time ();
      if (self->total_bytes != G_MAXUINT64)
        bytes = self->total_bytes;
    }
  self->committing = FALSE;
  switch (self->status)
    {
      case BT_STATUS_COMPLETED:
        set_received_prefix (self, bytes);
        break;
      case BT_STATUS_CANCELED:
        break;
      case BT_STATUS_ERROR:
        /* Only disk-full keeps its data for Resume() */
        if (self->error_status == BT_ERROR_STATUS_DISK_FULL)
          self->bytes_received = self->checkpoint_bytes = recover_data (self, bytes);
        break;
      case BT_STATUS_PAUSED_BY_APPLICATION:
        self->bytes_received = self->checkpoint_bytes = recover_data (self, bytes);
        break;
      case BT_STATUS_IDLE:
        if (!self->queued)
          {
            self->bytes_received = self->checkpoint_bytes = recover_data (self, bytes);
            break;
          }
        G_GNUC_FALLTHROUGH;
      default:
        /* Was running or waiting to run: back in the queue */
        self->status = BT_STATUS_IDLE;
        self->queued = TRUE;
        self->bytes_received = self->checkpoint_bytes = recover_data (self, bytes);
        break;
    }
  self->synced_bytes = MIN (self->synced_bytes, self->checkpoint_bytes);
  /* As far as the app may know */
  bt_range_set_clear (self->ranges_reported);
  bt_range_set_add_set (self->ranges_reported, self->ranges);
  self->recovered_changes = self->status != recorded_status || self->queued != recorded_queued
                            || self->bytes_received != self->restore.bytes
                            || recorded_place_unsynced;
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
    bt_store_save (self->store, self->id, self->app_id, self->seq, G_OBJECT (self),
                   (BtStoreSerializeFunc) bt_transfer_serialize, FALSE);
}

/* A change that need not survive a power cut (a crash of the service
 * loses nothing): not flushed to the disk unless something else is */
static void
save_lazily (BtTransfer *self)
{
  if (self->store != NULL)
    bt_store_save (self->store, self->id, self->app_id, self->seq, G_OBJECT (self),
                   (BtStoreSerializeFunc) bt_transfer_serialize, TRUE);
}

BtStore *
bt_transfer_get_store (BtTransfer *self)
{
  return self->store;
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
 * bt_transfer_begin_commit:
 *
 * The finished data is about to be renamed into place (bt-commit.c): the
 * intent is recorded first, so that a service killed between the rename
 * and the record of its success finds out, when it restarts, that the file
 * is already there (bt_destination_was_committed()) instead of finding it
 * "created by someone else".
 */
void
bt_transfer_begin_commit (BtTransfer *self)
{
  self->committing = TRUE;
  bt_transfer_save (self);
}

/* The data is in place under its final name: the transfer completes and
 * can no longer be stopped */
void
bt_transfer_set_in_place (BtTransfer *self)
{
  self->in_place = TRUE;
}

gboolean
bt_transfer_is_in_place (BtTransfer *self)
{
  return self->in_place;
}

/* Its creation is committed to the store (bt-manager.c says so) */
void
bt_transfer_set_recorded (BtTransfer *self)
{
  self->recorded = TRUE;
}

gboolean
bt_transfer_is_recorded (BtTransfer *self)
{
  return self->recorded;
}

/*
 * bt_transfer_record_completion:
 * @in_place: whether the data is on disk under its final name already; if
 *   not (bt-commit.c records the completion while the data is flushed and
 *   renamed), the record says so, and a service that finds it after a
 *   crash believes it only if the data is in place
 *
 * Saves the record of the transfer as completed, before it says so: it
 * does once the record is committed (bt_transfer_set_status()).
 */
void
bt_transfer_record_completion (BtTransfer *self, gboolean in_place)
{
  self->completion_recorded = g_get_real_time ();
  self->place_unsynced = !in_place;
  bt_transfer_save (self);
}

/* Whether its record says completed, before it does */
gboolean
bt_transfer_completion_is_recorded (BtTransfer *self)
{
  return self->completion_recorded != 0;
}

static void record_checkpoint (BtTransfer *self, guint64 bytes, BtRangeSet *ranges,
                               gboolean flushed);

/* The ranges a checkpoint records: a segmented download's, or NULL */
static BtRangeSet *
checkpoint_ranges_now (BtTransfer *self)
{
  return self->checkpoint_ranges != NULL ? bt_range_set_copy (self->ranges) : NULL;
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
  self->checkpoint_generation++; /* a background flush would only lag */
  record_checkpoint (self, self->bytes_received, checkpoint_ranges_now (self), TRUE);
}

/* The data starts over (or is gone): the checkpoint follows at once and any
 * flush in flight no longer counts */
void
bt_transfer_reset_checkpoint (BtTransfer *self, guint64 bytes)
{
  self->checkpoint_generation++;
  self->synced_bytes = MIN (self->synced_bytes, bytes);
  if (self->checkpoint_ranges != NULL)
    {
      /* Written in order again, from what the checkpoint has of the start */
      self->checkpoint_bytes = MIN (bt_range_set_get_prefix (self->checkpoint_ranges), bytes);
      self->synced_bytes = MIN (bt_range_set_get_prefix (self->synced_ranges), bytes);
      g_clear_pointer (&self->checkpoint_ranges, bt_range_set_free);
      g_clear_pointer (&self->synced_ranges, bt_range_set_free);
      bt_transfer_save (self);
      return;
    }
  if (bytes < self->checkpoint_bytes)
    {
      self->checkpoint_bytes = bytes;
      bt_transfer_save (self);
    }
}

/*
 * bt_transfer_rewind_after_failed_flush:
 *
 * A flush of the data failed: what it should have made durable may be
 * lost, whatever a later flush says (bt-flusher.c). The transfer goes back
 * to what the last good flush made durable, so that a resume fetches the
 * rest again, and the failure no longer stands in its way.
 *
 * Returns: whether a flush had failed
 */
gboolean
bt_transfer_rewind_after_failed_flush (BtTransfer *self)
{
  BtFlusher *flusher;

  if (self->destination == NULL)
    return FALSE;
  flusher = bt_destination_get_flusher (self->destination);
  if (bt_flusher_get_failure (flusher) == 0)
    return FALSE;
  bt_transfer_set_bytes_received (self, MIN (self->synced_bytes, self->bytes_received));
  bt_flusher_forget_failure (flusher);
  return TRUE;
}

typedef struct
{
  BtTransfer *transfer;
  guint64 bytes;
  BtRangeSet *ranges; /* of a segmented download, or NULL */
  guint generation;
} SyncData;

static void
sync_data_free (SyncData *data)
{
  g_object_unref (data->transfer);
  bt_range_set_free (data->ranges);
  g_free (data);
}

/* Records that the data goes as far as @bytes (@ranges, taken, for a
 * segmented download), on the disk if @flushed */
static void
record_checkpoint (BtTransfer *self, guint64 bytes, BtRangeSet *ranges, gboolean flushed)
{
  if (bytes <= self->checkpoint_bytes)
    {
      bt_range_set_free (ranges);
      return;
    }
  self->checkpoint_bytes = bytes;
  if (ranges != NULL && self->checkpoint_ranges != NULL)
    {
      bt_range_set_free (self->checkpoint_ranges);
      self->checkpoint_ranges = bt_range_set_copy (ranges);
      if (flushed)
        {
          bt_range_set_free (self->synced_ranges);
          self->synced_ranges = g_steal_pointer (&ranges);
        }
    }
  bt_range_set_free (ranges);
  if (flushed)
    {
      self->synced_bytes = self->synced_ranges != NULL && self->checkpoint_ranges != NULL
                               ? bt_range_set_get_prefix (self->synced_ranges)
                               : bytes;
      bt_transfer_save (self);
    }
  else
    save_lazily (self);
}

static void
on_synced (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SyncData *data = user_data;
  BtTransfer *self = data->transfer;
  g_autoptr (GError) error = NULL;

  self->checkpoint_in_flight = FALSE;
  if (!bt_flusher_flush_finish (result, &error))
    g_warning ("Transfer %s: cannot flush the partial file: %s", self->id, error->message);
  else if (data->generation == self->checkpoint_generation)
    record_checkpoint (self, data->bytes, g_steal_pointer (&data->ranges), TRUE);
  sync_data_free (data);
}

/* Like bt_transfer_checkpoint(), but the flush runs in a worker thread so
 * that the download does not wait for the disk.
 *
 * Without @flush it only records how far the data goes: what a process
 * wrote survives the process, so that is enough to resume after a crash
 * of the service within the same boot; the flushed count is what counts
 * after a crash of the machine (see bt_destination_recover()). Flushing
 * at every checkpoint would make a fast download wait for the disk; the
 * data goes to the disk meanwhile all the same (bt-flusher.c,
 * write-back). */
void
bt_transfer_checkpoint_in_background (BtTransfer *self, gboolean flush)
{
  SyncData *data;
  int fd;

  if (self->checkpoint_in_flight || self->bytes_received == self->checkpoint_bytes)
    return;
  if (!flush)
    {
      record_checkpoint (self, self->bytes_received, checkpoint_ranges_now (self), FALSE);
      return;
    }
  fd = bt_destination_dup_fd (self->destination);
  if (fd < 0)
    return;

  data = g_new0 (SyncData, 1);
  data->transfer = g_object_ref (self);
  data->bytes = self->bytes_received;
  data->ranges = checkpoint_ranges_now (self);
  data->generation = self->checkpoint_generation;
  self->checkpoint_in_flight = TRUE;
  bt_flusher_flush_async (bt_destination_get_flusher (self->destination), fd, BT_FLUSHER_ANY_SIZE,
                          on_synced, data);
}

/* Whether the service must stay up for this transfer */
gboolean
bt_transfer_keeps_service_busy (BtTransfer *self)
{
  /* A pipe or a socket the app handed over cannot be found again after a
   * restart: while the transfer may still need it, the service stays */
  if (!bt_status_is_finished (self->status)
      && ((self->source != NULL && !bt_source_can_reopen (self->source))
          || (self->destination != NULL && !bt_destination_can_reopen (self->destination))))
    return TRUE;
  return self->attempt != NULL || self->queued || self->retry_source != 0;
}

/* ---- Properties -------------------------------------------------------- */

static GVariant *
string_pairs (GPtrArray *pairs, gboolean hide_secrets)
{
  static const char *const secrets[] = {
    "Set-Cookie",
    "Authentication-Info",
    "Proxy-Authentication-Info",
    NULL,
  };

  return bt_record_pairs (pairs, hide_secrets ? secrets : NULL);
}

static GVariant *
ranges_downloaded (BtTransfer *self)
{
  return bt_range_set_to_variant (self->ranges);
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
  if (g_str_equal (name, BT_TRANSFER_PROPERTY_RANGES_DOWNLOADED))
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

static GVariant *
changed_value (gpointer object, const char *name)
{
  return get_property_value (BT_TRANSFER (object), name);
}

/* RangesAdded (docs/contract.md): the data that arrived since the last one, and
 * whether the download started over from zero; sent with the properties'
 * flush, so at most as often (and at once on a restart and at the end) */
static void
emit_ranges_added (gpointer object, BtChanges *changes)
{
  BtTransfer *self = object;
  gboolean restarted = self->ranges_restarted;
  g_autoptr (BtRangeSet) added = NULL;

  if (self->kind != BT_KIND_DOWNLOAD)
    return;
  if (restarted)
    bt_range_set_clear (self->ranges_reported);
  added = bt_range_set_difference (self->ranges, self->ranges_reported);
  /* What was dropped without a restart (a retry cutting unflushed data)
   * is no longer reported either */
  bt_range_set_free (self->ranges_reported);
  self->ranges_reported = bt_range_set_copy (self->ranges);
  self->ranges_restarted = FALSE;
  if (!restarted && bt_range_set_get_n_ranges (added) == 0)
    return;
  bt_changes_emit (changes, BT_TRANSFER_SIGNAL_RANGES_ADDED,
                   g_variant_new ("(@a(tt)b)", bt_range_set_to_variant (added), restarted));
}

/* Announces a change of a property (bt-changes.c) */
static void
bt_transfer_changed (BtTransfer *self, const char *property)
{
  bt_changes_add (self->changes, property);
}

void
bt_transfer_set_status (BtTransfer *self, BtStatus status)
{
  gboolean had_secrets;
  gboolean place_unsynced = FALSE;

  if (self->status == status)
    return;

  g_debug ("Transfer %s: %s → %s", self->id, bt_status_to_string (self->status),
           bt_status_to_string (status));
  self->status = status;
  if (status != BT_STATUS_COMPLETED)
    {
      /* A commit abandoned or failed: the record says what it is now */
      self->completion_recorded = 0;
      self->place_unsynced = FALSE;
    }
  bt_transfer_changed (self, "Status");
  if (bt_status_is_finished (status))
    self->committing = FALSE;

  had_secrets = self->has_secrets;
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
      self->completed_time = status == BT_STATUS_COMPLETED && self->completion_recorded != 0
                                 ? self->completion_recorded
                                 : g_get_real_time ();
      bt_transfer_changed (self, "CompletedTime");
      /* Reported once its directory is flushed: its name is on disk */
      place_unsynced = self->place_unsynced;
      self->place_unsynced = FALSE;
    }
  if (self->rate != 0 && status != BT_STATUS_RUNNING)
    {
      self->rate = 0;
      bt_transfer_changed (self, "Rate");
    }

  /* Running: the scheduler's word, the same as queued after a crash. A
   * completion recorded already (bt-commit.c) is on disk as it is now,
   * unless it had secrets to forget or said its name was not yet */
  if (status == BT_STATUS_RUNNING)
    save_lazily (self);
  else if (status != BT_STATUS_COMPLETED || self->completion_recorded == 0 || had_secrets)
    bt_transfer_save (self);
  else if (place_unsynced)
    save_lazily (self); /* nothing left to check after a crash */
  if (bt_status_is_finished (status))
    {
      self->completion_recorded = 0;
      self->in_place = FALSE;
    }
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
  /* 1 s, 4 s, 16 s, … (docs/contract.md "Retries and timeouts") */
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

/* Keeps the partial data only where Resume() can use it (docs/contract.md) */
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
          bt_range_set_clear (self->ranges);
          bt_transfer_changed (self, "BytesReceived");
          bt_transfer_changed (self, BT_TRANSFER_PROPERTY_RANGES_DOWNLOADED);
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
  if (self->in_place)
    return; /* completing: its data is in place already */
  if (self->attempt != NULL)
    {
      bt_attempt_stop (self->attempt);
      g_clear_pointer (&self->attempt, bt_attempt_unref);
      self->committing = FALSE;
      bt_transfer_checkpoint (self);
    }
  self->queued = TRUE;
  bt_transfer_set_status (self, status);
}

/* docs/contract.md: mirrors are tried after a failure that is not 401, 403 or a
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
bt_transfer_attempt_done (BtTransfer *self, BtAttempt *attempt, BtErrorStatus error_status,
                          const char *message, gboolean transient, guint retry_after_s)
{
  guint limit = bt_settings_get_uint (self->settings, "retry-limit");
  guint delay;

  if (attempt != self->attempt)
    return; /* an attempt stopped meanwhile */
  g_clear_pointer (&self->attempt, bt_attempt_unref);

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
  g_return_if_fail (self->attempt == NULL);

  self->queued = FALSE;
  g_clear_handle_id (&self->retry_source, g_source_remove);
  bt_transfer_set_status (self, BT_STATUS_RUNNING);
  /* The engine is chosen by the attempt, from the kind and the scheme */
  self->attempt = bt_attempt_start (self, session);
}

/* What bt_transfer_run() started begins now rather than from the main
 * loop (bt_attempt_begin_now()); it may end at once */
void
bt_transfer_begin_now (BtTransfer *self)
{
  if (self->attempt != NULL)
    bt_attempt_begin_now (self->attempt);
}

static void
stop (BtTransfer *self)
{
  if (self->attempt != NULL)
    bt_attempt_stop (self->attempt);
  g_clear_pointer (&self->attempt, bt_attempt_unref);
  self->committing = FALSE; /* a commit not in place yet is abandoned */
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
  if (self->in_place)
    {
      /* Completing: what remains is recording it (milliseconds) */
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_STATE,
                           "The transfer has already ended (completed): its data is in place");
      return FALSE;
    }
  return TRUE;
}

gboolean
bt_transfer_start (BtTransfer *self, GError **error)
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

gboolean
bt_transfer_pause (BtTransfer *self, GError **error)
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

gboolean
bt_transfer_resume (BtTransfer *self, GError **error)
{
  gboolean resumable_error
      = self->status == BT_STATUS_ERROR && self->error_status == BT_ERROR_STATUS_DISK_FULL;

  if (self->in_place)
    return TRUE; /* running to its end */
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
  /* Waits in the queue as "idle" until the scheduler gives it a slot; an
   * idle one that was not queued says so too */
  if (self->status == BT_STATUS_IDLE)
    {
      bt_transfer_save (self);
      g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
    }
  else
    bt_transfer_set_status (self, BT_STATUS_IDLE);
  return TRUE;
}

gboolean
bt_transfer_cancel (BtTransfer *self, GError **error)
{
  if (!check_not_finished (self, error))
    return FALSE;
  stop (self);
  bt_destination_discard (self->destination);
  bt_transfer_reset_checkpoint (self, 0);
  bt_transfer_set_status (self, BT_STATUS_CANCELED);
  return TRUE;
}

gboolean
bt_transfer_remove (BtTransfer *self, GError **error)
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

gboolean
bt_transfer_set_priority_named (BtTransfer *self, const char *value, GError **error)
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

gboolean
bt_transfer_set_cost_policy_named (BtTransfer *self, const char *value, GError **error)
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
  self->host_of_uri = NULL; /* the old string may be reused for another */
  self->uri_index = 0;
  bt_transfer_changed (self, "Uri");
  bt_transfer_save (self);
  return TRUE;
}

/* RequestRange: the range goes to the front of what is fetched; the
 * answer does not wait for the data (nor for the store: nothing in it
 * changes) */
static gboolean
handle_request_range (BtTransfer *self, guint64 offset, guint64 length, GError **error)
{
  if (self->kind != BT_KIND_DOWNLOAD || !self->random_access)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_STATE,
                           self->kind != BT_KIND_DOWNLOAD
                               ? "An upload has no ranges to fetch"
                               : "This download was created without the option random-access");
      return FALSE;
    }
  if (self->status == BT_STATUS_COMPLETED)
    return TRUE; /* all of it is there */
  if (!check_not_finished (self, error))
    return FALSE;
  if (length > G_MAXUINT64 - offset
      || (self->total_bytes != BT_SIZE_UNKNOWN && length > 0 && offset >= self->total_bytes))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "The range %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT
                   " goes beyond the end of the resource",
                   offset, length);
      return FALSE;
    }
  if (length == 0 || bt_range_set_contains (self->ranges, offset, offset + length))
    return TRUE;
  if (self->wanted == NULL)
    self->wanted = bt_range_set_new ();
  bt_range_set_add (self->wanted, offset, offset + length);
  if (self->attempt != NULL)
    bt_attempt_request_range (self->attempt);
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

  if (self->kind == BT_KIND_DOWNLOAD && self->status != BT_STATUS_COMPLETED && !self->in_place)
    bt_destination_ensure_partial (self->destination);
  fd = bt_destination_open_result (self->destination,
                                   self->status == BT_STATUS_COMPLETED || self->in_place, &error);
  if (fd < 0)
    {
      bt_invocation_return_error (invocation, error);
      return;
    }
  fd_list = g_unix_fd_list_new_from_array (&fd, 1);
  g_dbus_method_invocation_return_value_with_unix_fd_list (invocation, g_variant_new ("(h)", 0),
                                                           fd_list);
}

static void
dispatch (gpointer object, GDBusMethodInvocation *invocation)
{
  BtTransfer *self = object;
  g_autoptr (GError) error = NULL;
  const char *method_name = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  gboolean ok;

  if (g_str_equal (method_name, "Start"))
    ok = bt_transfer_start (self, &error);
  else if (g_str_equal (method_name, "Pause"))
    ok = bt_transfer_pause (self, &error);
  else if (g_str_equal (method_name, "Resume"))
    ok = bt_transfer_resume (self, &error);
  else if (g_str_equal (method_name, "Cancel"))
    ok = bt_transfer_cancel (self, &error);
  else if (g_str_equal (method_name, "Remove"))
    ok = bt_transfer_remove (self, &error);
  else if (g_str_equal (method_name, "SetPriority"))
    {
      const char *value;

      g_variant_get (parameters, "(&s)", &value);
      ok = bt_transfer_set_priority_named (self, value, &error);
    }
  else if (g_str_equal (method_name, "SetCostPolicy"))
    {
      const char *value;

      g_variant_get (parameters, "(&s)", &value);
      ok = bt_transfer_set_cost_policy_named (self, value, &error);
    }
  else if (g_str_equal (method_name, "SetRequestedUri"))
    {
      const char *value;

      g_variant_get (parameters, "(&s)", &value);
      ok = handle_set_requested_uri (self, value, &error);
    }
  else if (g_str_equal (method_name, BT_TRANSFER_METHOD_REQUEST_RANGE))
    {
      guint64 offset, length;

      g_variant_get (parameters, "(tt)", &offset, &length);
      if (handle_request_range (self, offset, length, &error))
        g_dbus_method_invocation_return_value (invocation, NULL);
      else
        bt_invocation_return_error (invocation, error);
      return;
    }
  else if (g_str_equal (method_name, BT_TRANSFER_METHOD_OPEN_RESULT)
           && self->kind == BT_KIND_DOWNLOAD)
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
  else
    bt_transfer_return_when_saved (self, invocation);
}

/*
 * bt_transfer_return_when_saved:
 * @invocation: (transfer full): a call that changed the transfer
 *
 * Answers @invocation with no value once what it changed is in the store
 * (STYLE 14).
 */
void
bt_transfer_return_when_saved (BtTransfer *self, GDBusMethodInvocation *invocation)
{
  if (self->store != NULL)
    bt_store_when_durable (self->store, invocation, NULL, NULL);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static const char *
get_owner (gpointer object)
{
  return BT_TRANSFER (object)->app_id;
}

static gboolean
is_alive (gpointer object)
{
  return BT_TRANSFER (object)->exported;
}

static GVariant *
get_property (gpointer object, const char *name)
{
  return get_property_value (BT_TRANSFER (object), name);
}

static const BtBusObjectVTable bus_object_vtable = {
  .info = &org_freedesktop_background_transfer_transfer_interface,
  /* The portal frontend does not call the objects: it acts for an app
   * through the portal backend's interface (bt-portal.c) */
  .foreign_message = "This transfer belongs to another application",
  .get_owner = get_owner,
  .is_alive = is_alive,
  .get_property = get_property,
  .method_call = dispatch,
};

/* Every call, property reads included, is checked against the owner
 * (bt-bus-object.c) */
static void
method_call (GDBusConnection *connection, const char *sender, const char *object_path,
             const char *interface_name, const char *method_name, GVariant *parameters,
             GDBusMethodInvocation *invocation, gpointer user_data)
{
  BtTransfer *self = user_data;

  bt_bus_object_dispatch (&bus_object_vtable, self, self->callers, invocation);
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
  bt_changes_attach (self->changes, connection, callers, self->object_path, self->app_id,
                     self->via_portal);
  return TRUE;
}

void
bt_transfer_unexport (BtTransfer *self)
{
  if (self->changes != NULL)
    bt_changes_detach (self->changes);
  self->exported = FALSE;
  g_clear_object (&self->connection);
  g_clear_object (&self->callers);
}

/*
 * bt_transfer_get_properties:
 *
 * Returns: (transfer floating): every property of the Transfer interface,
 * as Properties.GetAll gives them
 */
GVariant *
bt_transfer_get_properties (BtTransfer *self)
{
  return bt_bus_object_get_all (&bus_object_vtable, self);
}

/*
 * bt_transfer_get_fd_identities:
 *
 * Returns: (transfer container) (element-type BtFdIdentity): what each of
 * the caller's fds that the transfer uses is
 */
GPtrArray *
bt_transfer_get_fd_identities (BtTransfer *self)
{
  GPtrArray *identities = g_ptr_array_new ();

  if (self->destination != NULL && bt_destination_get_fd_identity (self->destination) != NULL)
    g_ptr_array_add (identities, bt_destination_get_fd_identity (self->destination));
  if (self->source != NULL)
    bt_source_collect_fd_identities (self->source, identities);
  return identities;
}

/*
 * bt_transfer_set_via_portal:
 *
 * Marks a new transfer, before it is exported, as created through the
 * portal backend: the portal frontend hears about it too.
 */
void
bt_transfer_set_via_portal (BtTransfer *self, gboolean via_portal)
{
  g_return_if_fail (!self->exported);
  self->via_portal = via_portal;
}

/* The vtable of a transfer object; its user data is the BtTransfer */
const GDBusInterfaceVTable *
bt_transfer_vtable (void)
{
  return &transfer_vtable;
}

/* ---- What the rest of the service reads --------------------------------- */

#define GETTER(type, name, expr)                                                                   \
  type bt_transfer_get_##name (BtTransfer *self)                                                   \
  {                                                                                                \
    return (expr);                                                                                 \
  }

GETTER (const char *, id, self->id)
GETTER (const char *, object_path, self->object_path)
GETTER (const char *, app_id, self->app_id)
GETTER (gboolean, via_portal, self->via_portal)
GETTER (gboolean, sandboxed, self->sandboxed)
GETTER (guint64, seq, self->seq)
GETTER (BtKind, kind, self->kind)
GETTER (BtStatus, status, self->status)
GETTER (BtErrorStatus, error_status, self->error_status)
GETTER (BtPriority, priority, self->priority)
GETTER (BtCostPolicy, cost_policy, self->cost_policy)
GETTER (const char *, group, self->group)
GETTER (const char *, completion_group, self->completion_group)
GETTER (gint64, completed_time, self->completed_time)
GETTER (const char *, method, self->method)
GETTER (GPtrArray *, headers, self->headers)
GETTER (BtSecrets *, secrets, self->secrets)
GETTER (BtDestination *, destination, self->destination)
GETTER (BtSource *, source, self->source)
GETTER (BtRateLimiter *, rate_limiter, self->rate_limiter)
GETTER (GSettings *, settings, self->settings)
GETTER (BtPolicy *, policy, self->policy)
GETTER (BtDigest *, checksum, self->checksum)
GETTER (BtDigest *, server_digest, self->server_digest)
GETTER (gboolean, fail_if_changed, self->fail_if_changed)
GETTER (gboolean, response_in_state, self->response_in_state)
GETTER (guint64, bytes_received, self->bytes_received)
GETTER (guint64, checkpoint_bytes, self->checkpoint_bytes)
GETTER (guint64, total_bytes, self->total_bytes)
GETTER (guint64, bytes_sent, self->bytes_sent)
GETTER (guint64, total_to_send, self->total_to_send)
GETTER (const char *, etag, self->etag)
GETTER (const char *, last_modified, self->last_modified)
GETTER (gboolean, is_resumable, self->is_resumable)
GETTER (const char *, resume_url, self->tus_url)
GETTER (GStrv, mirrors, self->mirrors)
GETTER (guint, uri_index, self->uri_index)
GETTER (guint64, rate, self->rate)

#undef GETTER

gboolean
bt_transfer_is_tus (BtTransfer *self)
{
  return self->tus;
}

gboolean
bt_transfer_has_secrets (BtTransfer *self)
{
  return self->has_secrets;
}

gboolean
bt_transfer_secrets_pending (BtTransfer *self)
{
  return self->secrets_pending;
}

/* The credentials read back from the Secret Service after a restart (or
 * %NULL if they are gone): the transfer may run now */
void
bt_transfer_take_secrets (BtTransfer *self, BtSecrets *secrets)
{
  if (secrets != NULL)
    {
      bt_secrets_free (self->secrets);
      self->secrets = secrets;
    }
  self->secrets_pending = FALSE;
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
}

/*
 * bt_transfer_set_documents_pending:
 *
 * A transfer restored with files of the document portal does not run
 * until the document portal has confirmed that they are still the app's
 * (bt-manager.c, bt_transfer_documents_checked()).
 */
void
bt_transfer_set_documents_pending (BtTransfer *self)
{
  self->documents_pending = TRUE;
}

gboolean
bt_transfer_documents_pending (BtTransfer *self)
{
  return self->documents_pending;
}

/*
 * bt_transfer_documents_checked:
 * @message: (nullable): why the transfer cannot go on, or %NULL if its
 *   documents are still the app's
 *
 * Ends a transfer whose documents are gone, writing nothing to them; or
 * lets it run.
 */
void
bt_transfer_documents_checked (BtTransfer *self, BtErrorStatus error_status, const char *message)
{
  self->documents_pending = FALSE;
  if (message != NULL && !bt_status_is_finished (self->status))
    {
      g_warning ("Transfer %s cannot go on: %s", self->id, message);
      self->queued = FALSE;
      bt_transfer_set_error (self, error_status, message);
      bt_transfer_set_status (self, BT_STATUS_ERROR);
      bt_transfer_save (self);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
}

/* Restoring it changed it (status, checkpoint): it must be saved again */
gboolean
bt_transfer_needs_saving (BtTransfer *self)
{
  return self->recovered_changes;
}

void
bt_transfer_set_completion_group (BtTransfer *self, const char *id)
{
  g_free (self->completion_group);
  self->completion_group = g_strdup (id);
}

/*
 * bt_transfer_take_notification:
 * @out_notify: (out) (transfer none) (nullable): the app's notification texts
 *
 * Returns: %TRUE the first time it is called for a finished transfer; it is
 *   then recorded that the notification was given
 */
gboolean
bt_transfer_take_notification (BtTransfer *self, GVariant **out_notify)
{
  if (!bt_status_is_finished (self->status) || self->notified)
    return FALSE;
  self->notified = TRUE;
  *out_notify = self->notify;
  /* Not notified twice after a restart; without texts, nothing to tell */
  if (self->notify != NULL)
    save_lazily (self);
  return TRUE;
}

/* Running, or about to: an attempt exists */
gboolean
bt_transfer_is_running (BtTransfer *self)
{
  return self->attempt != NULL;
}

/* Waits for a slot (queued), or for its retry */
gboolean
bt_transfer_wants_to_run (BtTransfer *self)
{
  return self->queued || self->retry_source != 0;
}

gboolean
bt_transfer_is_queued (BtTransfer *self)
{
  return self->queued;
}

void
bt_transfer_set_services (BtTransfer *self, GSettings *settings, BtStore *store, BtPolicy *policy)
{
  g_set_object (&self->settings, settings);
  g_set_object (&self->store, store);
  g_set_object (&self->policy, policy);
}

/* ---- What an attempt records -------------------------------------------- */

void
bt_transfer_count_attempt (BtTransfer *self)
{
  self->attempts++;
  bt_transfer_changed (self, "Attempts");
}

static void
ranges_changed (BtTransfer *self)
{
  bt_transfer_changed (self, "BytesReceived");
  if (self->kind == BT_KIND_DOWNLOAD)
    bt_transfer_changed (self, BT_TRANSFER_PROPERTY_RANGES_DOWNLOADED);
}

/* The data on disk is now [0, @bytes): written in order from the start */
void
bt_transfer_set_bytes_received (BtTransfer *self, guint64 bytes)
{
  gboolean in_order = bt_range_set_is_prefix (self->ranges);

  if ((bytes < self->bytes_received || !in_order) && self->kind == BT_KIND_DOWNLOAD)
    bt_transfer_reset_checkpoint (self, bytes); /* starting over */
  if (self->bytes_received == bytes && in_order)
    return;
  self->bytes_received = bytes;
  bt_range_set_set_prefix (self->ranges, bytes);
  ranges_changed (self);
}

/*
 * bt_transfer_add_received:
 *
 * A connection of a segmented download wrote [@offset, @offset + @length):
 * from now on the checkpoint records the ranges on disk.
 */
void
bt_transfer_add_received (BtTransfer *self, guint64 offset, guint64 length)
{
  if (self->checkpoint_ranges == NULL)
    {
      self->checkpoint_ranges = bt_range_set_new ();
      bt_range_set_set_prefix (self->checkpoint_ranges, self->checkpoint_bytes);
      self->synced_ranges = bt_range_set_new ();
      bt_range_set_set_prefix (self->synced_ranges, self->synced_bytes);
    }
  bt_range_set_add (self->ranges, offset, offset + length);
  if (bt_range_set_get_total (self->ranges) == self->bytes_received)
    return;
  self->bytes_received = bt_range_set_get_total (self->ranges);
  ranges_changed (self);
}

/* The data on disk; [0, bytes received) unless segmented */
const BtRangeSet *
bt_transfer_get_ranges (BtTransfer *self)
{
  return self->ranges;
}

/* What the app asked for first (RequestRange) and is not on disk yet */
const BtRangeSet *
bt_transfer_get_wanted (BtTransfer *self)
{
  if (self->wanted != NULL && bt_range_set_get_n_ranges (self->wanted) > 0)
    {
      g_autoptr (BtRangeSet) left = bt_range_set_difference (self->wanted, self->ranges);

      bt_range_set_free (self->wanted);
      self->wanted = g_steal_pointer (&left);
    }
  return self->wanted;
}

/* How many connections the download would like: the option, else the
 * setting connections-per-download */
guint
bt_transfer_get_connections (BtTransfer *self)
{
  guint n = self->n_connections;

  if (n == 0 && self->settings != NULL)
    n = bt_settings_get_uint (self->settings, "connections-per-download");
  return CLAMP (n, 1, BT_MAX_CONNECTIONS);
}

gboolean
bt_transfer_get_random_access (BtTransfer *self)
{
  return self->random_access;
}

/* The data starts over from zero: what was known of it means nothing */
void
bt_transfer_restarted (BtTransfer *self)
{
  g_clear_pointer (&self->etag, g_free);
  g_clear_pointer (&self->last_modified, g_free);
  if (bt_range_set_get_n_ranges (self->ranges_reported) > 0)
    {
      /* The app hears of it at once: what it read so far is void */
      self->ranges_restarted = TRUE;
      bt_changes_flush_soon (self->changes);
    }
}

void
bt_transfer_set_total_bytes (BtTransfer *self, guint64 total)
{
  if (self->total_bytes == total)
    return;
  self->total_bytes = total;
  bt_transfer_changed (self, "TotalBytesToReceive");
}

/* @is_total: the upload has ended, so what was sent is the whole */
void
bt_transfer_set_bytes_sent (BtTransfer *self, guint64 bytes, gboolean is_total)
{
  if (self->bytes_sent != bytes)
    {
      self->bytes_sent = bytes;
      bt_transfer_changed (self, "BytesSent");
    }
  if (is_total && self->total_to_send != bytes)
    {
      self->total_to_send = bytes;
      bt_transfer_changed (self, "TotalBytesToSend");
    }
}

void
bt_transfer_set_rate (BtTransfer *self, guint64 rate)
{
  if (self->rate == rate)
    return;
  self->rate = rate;
  bt_transfer_changed (self, "Rate");
}

/* Recorded in the store at once: a pause, a crash or a restart of the
 * service resumes against these (docs/contract.md "Persistence and resuming"); a
 * power cut keeps them with the first flushed checkpoint */
void
bt_transfer_set_validators (BtTransfer *self, guint64 total, const char *etag,
                            const char *last_modified, gboolean resumable)
{
  gboolean changed = g_strcmp0 (self->etag, etag) != 0
                     || g_strcmp0 (self->last_modified, last_modified) != 0
                     || self->total_bytes != total;

  g_free (self->etag);
  self->etag = g_strdup (etag);
  g_free (self->last_modified);
  self->last_modified = g_strdup (last_modified);
  bt_transfer_set_total_bytes (self, total);
  if (resumable != self->is_resumable)
    {
      self->is_resumable = resumable;
      bt_transfer_changed (self, "IsResumable");
      changed = TRUE;
    }
  /* Lazily: a power cut loses with them only unflushed data, which the
   * next flushed checkpoint records together with them */
  if (changed)
    save_lazily (self);
}

void
bt_transfer_set_server_digest (BtTransfer *self, BtDigest *digest)
{
  bt_digest_free (self->server_digest);
  self->server_digest = digest;
}

void
bt_transfer_set_response (BtTransfer *self, guint status, GPtrArray *headers,
                          const char *actual_uri)
{
  g_ptr_array_unref (self->response_headers);
  self->response_headers = headers;
  bt_transfer_changed (self, "ResponseHeaders");
  if (self->http_status != status)
    {
      self->http_status = status;
      bt_transfer_changed (self, "HttpStatus");
    }
  if (actual_uri != NULL && g_strcmp0 (self->actual_uri, actual_uri) != 0)
    {
      g_free (self->actual_uri);
      self->actual_uri = g_strdup (actual_uri);
      bt_transfer_changed (self, "ActualUri");
    }
}

/* Where a resumable upload lives on the server (tus); recorded at once */
void
bt_transfer_set_resume_url (BtTransfer *self, const char *url)
{
  if (g_strcmp0 (self->tus_url, url) == 0)
    return;
  g_free (self->tus_url);
  self->tus_url = g_strdup (url);
  bt_transfer_save (self);
}

gboolean
bt_transfer_is_exported (BtTransfer *self)
{
  return self->exported;
}

/*
 * bt_transfer_get_host:
 * @out_connections: (out) (optional): how many connections an attempt
 *   opens to it (see bt-engine.h)
 *
 * Returns: (nullable): the host of the URI the transfer fetches from now,
 *   in lower case
 */
const char *
bt_transfer_get_host (BtTransfer *self, guint *out_connections)
{
  const char *uri = bt_transfer_get_current_uri (self);

  if (self->host_of_uri != uri)
    {
      g_autoptr (GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_ENCODED, NULL);

      g_free (self->host);
      self->host = parsed != NULL && g_uri_get_host (parsed) != NULL
                       ? g_ascii_strdown (g_uri_get_host (parsed), -1)
                       : NULL;
      self->connections = bt_engine_connections_for (self->kind, uri);
      self->host_of_uri = uri;
    }
  if (out_connections != NULL)
    *out_connections = self->connections;
  return self->host;
}
