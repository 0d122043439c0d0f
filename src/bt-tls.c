/* bt-tls.c: the trust the service puts in certificates
 *
 * The system trust store, always; there is no way for a caller to relax
 * it. The test build of the service (bgtransferd-test, never installed)
 * may instead trust the CA file named by BGTRANSFERD_TEST_CA_FILE, so that
 * the suites can run TLS servers with their own certificates: the
 * installed service does not contain that code at all.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-tls.h"

/* Returns: (transfer none) (nullable): a database to use instead of the
 * system one, or %NULL */
GTlsDatabase *
bt_tls_get_database (void)
{
#ifdef BT_ENABLE_TEST_TRUST
  static GTlsDatabase *database;

  if (g_once_init_enter (&database))
    {
      const char *file = g_getenv ("BGTRANSFERD_TEST_CA_FILE");
      GTlsDatabase *db = NULL;

      if (file != NULL && *file != '\0')
        {
          g_autoptr (GError) error = NULL;

          db = g_tls_file_database_new (file, &error);
          if (db == NULL)
            g_warning ("Cannot load the test CA %s: %s", file, error->message);
          else
            g_message ("Test build: trusting only the CA in %s", file);
        }
      if (db == NULL)
        db = g_tls_backend_get_default_database (g_tls_backend_get_default ());
      g_once_init_leave (&database, db);
    }
  return database;
#else
  return NULL;
#endif
}

void
bt_tls_configure (GTlsConnection *connection)
{
  GTlsDatabase *database = bt_tls_get_database ();

  if (database != NULL)
    g_tls_connection_set_database (connection, database);
}
