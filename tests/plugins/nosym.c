/* nosym.c - a shared object that is not a flagsync plugin. */
int nosym_answer(void);

int
nosym_answer(void)
{
	return 42;
}
