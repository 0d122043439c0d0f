/* bgtransferd: the background transfer session service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <locale.h>
#include <netdb.h>
#include <stdlib.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gi18n.h>

#include "bt-engines.h"
#include "bt-manager.h"
#include "bt-portal.h"
#include "bt-tls.h"

#define BT_BUS_NAME "org.freedesktop.BackgroundTransfer"

/* Where the translations are: the test build reads the build tree's */
#ifndef BT_LOCALEDIR
#define BT_LOCALEDIR LOCALEDIR
#endif
#define DEFAULT_IDLE_TIMEOUT_S 60

typedef struct
{
  GMainLoop *loop;
  BtManager *manager;
  BtPortal *portal;
  guint idle_timeout_s;
  int exit_status;
  gboolean owned_name;
} Service;

static void
service_quit (Service *service, int status)
{
  service->exit_status = status;
  g_main_loop_quit (service->loop);
}

static void
on_idle (BtManager *manager, Service *service)
{
  service_quit (service, EXIT_SUCCESS);
}

static void
on_bus_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Service *service = user_data;
  g_autoptr (GError) error = NULL;

  service->manager = bt_manager_new (connection, service->idle_timeout_s, &error);
  if (service->manager == NULL)
    {
      g_warning ("Cannot export the manager: %s", error->message);
      service_quit (service, EXIT_FAILURE);
      return;
    }
  g_signal_connect (service->manager, "idle", G_CALLBACK (on_idle), service);

  /* The backend of xdg-desktop-portal's BackgroundTransfer portal */
  service->portal = bt_portal_new (connection, service->manager, &error);
  if (service->portal == NULL)
    {
      g_warning ("Cannot export the portal backend: %s", error->message);
      service_quit (service, EXIT_FAILURE);
    }
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Service *service = user_data;

  service->owned_name = TRUE;
  g_debug ("Owning %s", name);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Service *service = user_data;

  if (connection == NULL && service->owned_name)
    {
      /* The session ended (logout): what runs was checkpointed as it went,
       * and the store has it; the next session resumes it */
      g_message ("The session bus went away; exiting");
      service_quit (service, EXIT_SUCCESS);
      return;
    }
  if (connection == NULL)
    g_warning ("Cannot connect to the session bus");
  else
    g_message ("Lost or could not own the name %s; exiting", name);
  service_quit (service, EXIT_FAILURE);
}

static gboolean
on_terminate (gpointer user_data)
{
  Service *service = user_data;

  g_debug ("Terminating on a signal");
  service_quit (service, EXIT_SUCCESS);
  return G_SOURCE_CONTINUE;
}

static guint
idle_timeout_from_env (void)
{
  const char *value = g_getenv ("BGTRANSFERD_IDLE_TIMEOUT");
  guint64 seconds;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT, &seconds, NULL))
    return DEFAULT_IDLE_TIMEOUT_S;
  return (guint) seconds;
}

/* GIO loads the module behind a default (the proxy resolver, the TLS
 * backend) when it is first asked for it. Ask now, while the service is one
 * thread: the first transfer's connection does not stop the main loop for the
 * dlopen (about 8 ms for libproxy's module here), and no dlopen, which holds
 * the dynamic loader's lock, runs beside worker threads. A preloaded fault
 * injector (libfiu 1.1's fiu_posix_preload.so, FAULTS.md P5) deadlocks there:
 * its wrappers look up libc per thread, under a lock of its own that the
 * thread in dlopen waits for. The proxy resolver comes last: GNOME's may
 * start GLib's worker thread (a settings monitor) before libproxy's module
 * is loaded. */
static void
load_network_modules (void)
{
  /* libproxy's lookups (a worker thread per connection) read the services
   * database (getservbyname): load its NSS modules */
  setservent (0);
  endservent ();
  bt_tls_get_database ();
  g_proxy_resolver_get_default ();
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  gboolean replace = FALSE;
  gboolean verbose = FALSE;
  gboolean version = FALSE;
  int idle_timeout = -1;
  Service service = { 0 };
  guint owner_id;
  const GOptionEntry entries[] = {
    { "replace", 'r', 0, G_OPTION_ARG_NONE, &replace, N_ ("Replace a running instance"), NULL },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &idle_timeout,
      N_ ("Exit after this many seconds with nothing to do (0: never)"), N_ ("SECONDS") },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_ ("Print debug messages"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_ ("Print the version and exit"), NULL },
    { NULL },
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, BT_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("The background transfer service"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bgtransferd: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("bgtransferd %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (verbose)
    g_log_set_debug_enabled (TRUE);

  /* The engines the service speaks; the core finds them by kind and scheme */
  bt_engine_register (&bt_http_download_engine);
  bt_engine_register (&bt_http_upload_engine);
  bt_engine_register (&bt_ftp_download_engine);

  /* Before the first thread: GLib's worker starts with the signal sources */
  load_network_modules ();

  loop = g_main_loop_new (NULL, FALSE);
  service.loop = loop;
  service.exit_status = EXIT_SUCCESS;
  service.idle_timeout_s = idle_timeout >= 0 ? (guint) idle_timeout : idle_timeout_from_env ();

  g_unix_signal_add (SIGTERM, on_terminate, &service);
  g_unix_signal_add (SIGINT, on_terminate, &service);
  g_unix_signal_add (SIGHUP, on_terminate, &service);

  owner_id = g_bus_own_name (G_BUS_TYPE_SESSION, BT_BUS_NAME,
                             G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT
                                 | (replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                             on_bus_acquired, on_name_acquired, on_name_lost, &service, NULL);

  g_main_loop_run (loop);

  g_bus_unown_name (owner_id);
  g_clear_object (&service.portal);
  if (service.manager != NULL)
    {
      bt_manager_shutdown (service.manager);
      g_clear_object (&service.manager);
    }
  return service.exit_status;
}
