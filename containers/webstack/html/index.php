<?php
// The webstack example's page: PHP through php-fpm, and what cron's job wrote.
$cron = @file_get_contents('/var/www/cron/last-run');
echo 'Hello from PHP ', PHP_VERSION, ' (', PHP_SAPI, ")\n";
echo 'cron last ran: ', $cron === false ? "not yet\n" : $cron;
