build/obj/lib/cmdline.o: lib/cmdline.c lib/cmdline.h lib/durable.h \
 lib/util.h
lib/cmdline.h:
lib/durable.h:
lib/util.h:
